// celcost compiles the CEL of a ValidatingAdmissionPolicy in the environment a given Kubernetes
// version offers for new expressions (the API server's own library, k8s.io/apiserver), and
// evaluates it on Pods with the API server's cost tracking, printing the actual cost of each
// variable and expression as JSON.
//
// A 1.30 API server checks new expressions against the 1.29 environment (one version back, for
// rollback): compiling with -version 1.29 is how the e2e tests show the backstop loads on 1.30+,
// though they run a newer API server.
//
// Usage: celcost -version 1.29 -policy POLICY.yaml [POD.json...]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/google/cel-go/cel"
	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/apiserver/pkg/cel/environment"
	"sigs.k8s.io/yaml"
)

type expression struct {
	Name              string `json:"name"`
	Expression        string `json:"expression"`
	MessageExpression string `json:"messageExpression"`
}

type policy struct {
	Spec struct {
		Variables   []expression `json:"variables"`
		Validations []expression `json:"validations"`
	} `json:"spec"`
}

type compiled struct {
	where    string
	variable string
	program  cel.Program
}

type cost struct {
	Where string `json:"where"`
	Cost  uint64 `json:"cost"`
	Error string `json:"error,omitempty"`
}

type podResult struct {
	File  string `json:"file"`
	Costs []cost `json:"costs"`
	Total uint64 `json:"total"`
}

type output struct {
	Version      string      `json:"version"`
	CompileError string      `json:"compileError,omitempty"`
	Compiled     int         `json:"compiled"`
	Pods         []podResult `json:"pods"`
}

func main() {
	ver := flag.String("version", "1.29", "Kubernetes MAJOR.MINOR whose new-expression CEL environment to use")
	policyFile := flag.String("policy", "", "the ValidatingAdmissionPolicy (YAML or JSON)")
	requestFile := flag.String("request", "", "the admission request the Pods come with (JSON: namespace, userInfo); none when empty")
	oldFile := flag.String("old", "", "the Pod before the update (JSON), for an UPDATE such as pods/ephemeralcontainers; none (a CREATE) when empty")
	flag.Parse()
	out := output{Version: *ver, Pods: []podResult{}}
	if err := run(*ver, *policyFile, *requestFile, *oldFile, flag.Args(), &out); err != nil {
		fmt.Fprintln(os.Stderr, "celcost:", err)
		os.Exit(2)
	}
	must(json.NewEncoder(os.Stdout).Encode(out))
}

func run(ver, policyFile, requestFile, oldFile string, pods []string, out *output) error {
	var old any
	if oldFile != "" {
		if err := readJSON(oldFile, &old); err != nil {
			return err
		}
	}
	request := map[string]any{}
	if requestFile != "" {
		if err := readJSON(requestFile, &request); err != nil {
			return err
		}
	}
	raw, err := os.ReadFile(policyFile)
	if err != nil {
		return err
	}
	var p policy
	if err := yaml.Unmarshal(raw, &p); err != nil {
		return err
	}
	base, err := environment.MustBaseEnvSet(version.MustParseGeneric(ver), true).Env(environment.NewExpressions)
	if err != nil {
		return err
	}
	env, err := base.Extend(cel.Variable("object", cel.DynType), cel.Variable("oldObject", cel.DynType), cel.Variable("request", cel.DynType))
	if err != nil {
		return err
	}
	var programs []compiled
	add := func(where, variable, text string) bool {
		ast, issues := env.Compile(text)
		if issues.Err() != nil {
			out.CompileError = fmt.Sprintf("%s: %v", where, issues.Err())
			return false
		}
		program, err := env.Program(ast)
		if err != nil {
			out.CompileError = fmt.Sprintf("%s: %v", where, err)
			return false
		}
		programs = append(programs, compiled{where, variable, program})
		if variable != "" {
			// Declared with the type its expression has, as the API server's composition does
			// (the cost of `in` and other calls depends on the static types).
			if env, err = env.Extend(cel.Variable("variables."+variable, ast.OutputType())); err != nil {
				out.CompileError = fmt.Sprintf("%s: %v", where, err)
				return false
			}
		}
		return true
	}
	for _, v := range p.Spec.Variables {
		if !add("variables."+v.Name, v.Name, v.Expression) {
			return nil
		}
	}
	for i, v := range p.Spec.Validations {
		if !add(fmt.Sprintf("validations[%d].expression", i), "", v.Expression) {
			return nil
		}
		if v.MessageExpression != "" && !add(fmt.Sprintf("validations[%d].messageExpression", i), "", v.MessageExpression) {
			return nil
		}
	}
	out.Compiled = len(programs)
	for _, file := range pods {
		raw, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		var pod map[string]any
		if err := json.Unmarshal(raw, &pod); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		// For a CREATE the API server composes no old object (null).
		activation := map[string]any{"object": pod, "oldObject": old, "request": request}
		result := podResult{File: file, Costs: []cost{}}
		for _, c := range programs {
			value, details, err := c.program.Eval(activation)
			spent := uint64(0)
			if details != nil && details.ActualCost() != nil {
				spent = *details.ActualCost()
			}
			entry := cost{Where: c.where, Cost: spent}
			if err != nil {
				entry.Error = err.Error()
			} else if c.variable != "" {
				activation["variables."+c.variable] = value
			}
			result.Total += spent
			result.Costs = append(result.Costs, entry)
		}
		out.Pods = append(out.Pods, result)
	}
	return nil
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "celcost:", err)
		os.Exit(2)
	}
}

// readJSON decodes the JSON file at path into value.
func readJSON(path string, value any) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, value); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
