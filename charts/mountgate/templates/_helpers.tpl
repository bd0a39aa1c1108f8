{{/* vim: set filetype=mustache: */}}

{{- define "mountgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Full name: release-chart, or the release name alone when it already contains the chart name.
Truncated to 63 characters (the DNS label limit of Service names).
*/}}
{{- define "mountgate.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A name derived from the full name plus a suffix, still within 63 characters. */}}
{{- define "mountgate.suffixed" -}}
{{- $root := index . 0 -}}
{{- $suffix := index . 1 -}}
{{- printf "%s-%s" (include "mountgate.fullname" $root | trunc (int (sub 62 (len $suffix))) | trimSuffix "-") $suffix -}}
{{- end -}}

{{- define "mountgate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "mountgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mountgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "mountgate.labels" -}}
helm.sh/chart: {{ include "mountgate.chart" . }}
{{ include "mountgate.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mountgate
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "mountgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "mountgate.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "mountgate.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* Object names. */}}
{{/*
The key clients put their requests in: policy.annotation, or mountgate's default when it is unset
(a values file's `annotation:` with no value, or null, removes the key; mountgate then reads the default).
*/}}
{{- define "mountgate.annotation" -}}{{ .Values.policy.annotation | default "mountgate.io/mounts" }}{{- end -}}
{{- define "mountgate.policyConfigMapName" -}}{{ include "mountgate.suffixed" (list . "policy") }}{{- end -}}
{{- define "mountgate.mutatingName" -}}{{ include "mountgate.fullname" . }}{{- end -}}
{{- define "mountgate.validatingName" -}}{{ include "mountgate.fullname" . }}{{- end -}}
{{- define "mountgate.leaseName" -}}{{ include "mountgate.suffixed" (list . "status") }}{{- end -}}

{{/*
"true" when the ValidatingWebhookConfiguration is rendered: for the Pod webhooks, or for the
MountPolicy webhook alone (which does not depend on webhook.validating.enabled).
*/}}
{{- define "mountgate.validatingConfig" -}}
{{- if or .Values.webhook.validating.enabled .Values.mountPolicies.enabled -}}true{{- end -}}
{{- end -}}

{{/* "true" when mountgate calls the Kubernetes API, so its Pod needs a token. */}}
{{- define "mountgate.callsApi" -}}
{{- if or .Values.podSecurityPreflight.enabled .Values.mountPolicies.enabled -}}true{{- end -}}
{{- end -}}
{{- define "mountgate.certificateName" -}}{{ include "mountgate.suffixed" (list . "serving") }}{{- end -}}
{{- define "mountgate.caSecretName" -}}{{ include "mountgate.suffixed" (list . "ca") }}{{- end -}}

{{- define "mountgate.tlsSecretName" -}}
{{- if eq .Values.certs.mode "secret" -}}
{{- required "certs.secret.name is required when certs.mode is secret" .Values.certs.secret.name -}}
{{- else -}}
{{- include "mountgate.suffixed" (list . "tls") -}}
{{- end -}}
{{- end -}}

{{/* Paths inside the webhook container. */}}
{{- define "mountgate.tlsDir" -}}/etc/mountgate/tls{{- end -}}
{{- define "mountgate.policyDir" -}}/etc/mountgate/policy{{- end -}}
{{- define "mountgate.policyFile" -}}{{ include "mountgate.policyDir" . }}/policy.yaml{{- end -}}

{{/*
The host of webhook.url, without port or IPv6 brackets; empty when the webhooks call the Service.
The API server checks the serving certificate against it, so it is among the certificate's names.
*/}}
{{- define "mountgate.webhookUrlHost" -}}
{{- if .Values.webhook.url -}}
{{- $host := (urlParse .Values.webhook.url).host -}}
{{- if hasPrefix "[" $host -}}
{{- trimPrefix "[" (first (splitList "]" $host)) -}}
{{- else -}}
{{- first (splitList ":" $host) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Whether a host is an IP address (IPv4 in dotted digits, or IPv6, the only hosts with a colon). */}}
{{- define "mountgate.isIpHost" -}}
{{- if or (regexMatch "^[0-9]+(\\.[0-9]+){3}$" .) (contains ":" .) -}}true{{- end -}}
{{- end -}}

{{/* DNS names of the serving certificate (helm and certManager modes). */}}
{{- define "mountgate.dnsNames" -}}
{{- $svc := include "mountgate.fullname" . -}}
{{- $ns := .Release.Namespace -}}
{{- $names := list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) -}}
{{- $urlHost := include "mountgate.webhookUrlHost" . -}}
{{- if and $urlHost (not (include "mountgate.isIpHost" $urlHost)) -}}
{{- $names = append $names $urlHost -}}
{{- end -}}
{{- concat $names .Values.certs.extraDnsNames | uniq | toJson -}}
{{- end -}}

{{/* IP addresses of the serving certificate (helm and certManager modes). */}}
{{- define "mountgate.ipAddresses" -}}
{{- $urlHost := include "mountgate.webhookUrlHost" . -}}
{{- $ips := .Values.certs.extraIpAddresses | default list -}}
{{- if and $urlHost (include "mountgate.isIpHost" $urlHost) -}}
{{- $ips = append $ips $urlHost -}}
{{- end -}}
{{- $ips | uniq | toJson -}}
{{- end -}}

{{/* webhook.namespaceSelector, or the default label selector when it is null. */}}
{{- define "mountgate.defaultNamespaceSelector" -}}
{{- if kindIs "invalid" .Values.webhook.namespaceSelector -}}
matchLabels:
  mountgate.io/enabled: "true"
{{- else -}}
{{- toYaml .Values.webhook.namespaceSelector -}}
{{- end -}}
{{- end -}}

{{/*
The namespaceSelector of a webhook: the configured selector plus an expression that always
excludes kube-system, the release namespace and webhook.excludeNamespaces.
Argument: (list $root $selectorOrNil)
*/}}
{{- define "mountgate.namespaceSelector" -}}
{{- $root := index . 0 -}}
{{- $sel := index . 1 -}}
{{- if kindIs "invalid" $sel -}}{{- $sel = include "mountgate.defaultNamespaceSelector" $root | fromYaml -}}{{- end -}}
{{- $excluded := concat (list "kube-system" $root.Release.Namespace) $root.Values.webhook.excludeNamespaces | uniq -}}
{{- $exprs := list -}}
{{- range (default (list) $sel.matchExpressions) -}}{{- $exprs = append $exprs . -}}{{- end -}}
{{- $exprs = append $exprs (dict "key" "kubernetes.io/metadata.name" "operator" "NotIn" "values" $excluded) -}}
{{- $out := dict "matchExpressions" $exprs -}}
{{- with $sel.matchLabels -}}{{- $_ := set $out "matchLabels" . -}}{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/* Validations that the schema cannot express. */}}
{{- define "mountgate.validate" -}}
{{- if not .Values.image.repository -}}
{{- fail "image.repository is required: build the image from the repository's Dockerfile, push it to a registry the cluster can pull from, and set image.repository (no image is published)" -}}
{{- end -}}
{{- if and (eq .Values.certs.mode "secret") (not .Values.certs.secret.caBundle) -}}
{{- fail "certs.secret.caBundle is required when certs.mode is secret (the PEM of the CA that signed the Secret's tls.crt)" -}}
{{- end -}}
{{- if and (eq .Values.certs.mode "secret") (not .Values.certs.secret.name) -}}
{{- fail "certs.secret.name is required when certs.mode is secret" -}}
{{- end -}}
{{- if eq .Values.certs.mode "secret" -}}
{{- /* The caBundle lands in cluster-scoped webhook configurations and the helm test Pod's env. */ -}}
{{- $caPem := include "mountgate.secretModeCaPem" . -}}
{{- if contains "PRIVATE KEY-----" $caPem -}}
{{- fail "certs.secret.caBundle holds a private key: the webhook configurations and the helm test Pod would publish it; give the CA certificate alone (ca.crt, not tls.key)" -}}
{{- end -}}
{{- if not (contains "-----BEGIN CERTIFICATE-----" $caPem) -}}
{{- fail "certs.secret.caBundle holds no CA certificate: give the PEM of the CA that signed the Secret's tls.crt (-----BEGIN CERTIFICATE-----), or base64 of that PEM" -}}
{{- end -}}
{{- end -}}
{{- if and (not (kindIs "invalid" .Values.terminationGracePeriodSeconds)) (le (int .Values.terminationGracePeriodSeconds) (int .Values.server.shutdownDelay)) -}}
{{- fail (printf "terminationGracePeriodSeconds (%v) must be greater than server.shutdownDelay (%v), or the kubelet kills mountgate while it drains" .Values.terminationGracePeriodSeconds .Values.server.shutdownDelay) -}}
{{- end -}}
{{- if eq .Values.certs.mode "helm" -}}
{{- /* A CA is kept while more than a third of it is left: a serving certificate issued then must end first. */ -}}
{{- $caDays := int .Values.certs.helm.caValidityDays -}}
{{- $certDays := int .Values.certs.helm.certValidityDays -}}
{{- if gt $certDays (div $caDays 3) -}}
{{- fail (printf "certs.helm.certValidityDays (%d) must be at most a third of certs.helm.caValidityDays (%d / 3 = %d): the CA is kept until a third of its validity is left, so a longer serving certificate could outlive the CA that signed it, and mountgate_certificate_expiry_timestamp_seconds, which shows the serving certificate's expiry, would not warn before the API server stops trusting it" $certDays $caDays (div $caDays 3)) -}}
{{- end -}}
{{- end -}}
{{- if and .Values.certs.certManager.issuerRef (not .Values.certs.certManager.issuerRef.name) -}}
{{- fail "certs.certManager.issuerRef.name is required when issuerRef is set" -}}
{{- end -}}
{{- if eq .Values.certs.mode "certManager" -}}
{{- /* What cert-manager's webhook would refuse in the Certificates, part-way through an install. */ -}}
{{- $cm := .Values.certs.certManager -}}
{{- $duration := include "mountgate.durationSeconds" $cm.duration | float64 -}}
{{- $renewBefore := include "mountgate.durationSeconds" $cm.renewBefore | float64 -}}
{{- if lt $duration 3600.0 -}}
{{- fail (printf "certs.certManager.duration (%s) must be at least 1h: cert-manager refuses a shorter Certificate" $cm.duration) -}}
{{- end -}}
{{- if lt $renewBefore 300.0 -}}
{{- fail (printf "certs.certManager.renewBefore (%s) must be at least 5m: cert-manager refuses a shorter one" $cm.renewBefore) -}}
{{- end -}}
{{- if ge $renewBefore $duration -}}
{{- fail (printf "certs.certManager.renewBefore (%s) must be shorter than certs.certManager.duration (%s): cert-manager refuses the Certificate otherwise" $cm.renewBefore $cm.duration) -}}
{{- end -}}
{{- if and (not $cm.issuerRef) (lt (include "mountgate.durationSeconds" $cm.caDuration | float64) 3600.0) -}}
{{- fail (printf "certs.certManager.caDuration (%s) must be at least 1h: cert-manager refuses a shorter Certificate" $cm.caDuration) -}}
{{- end -}}
{{- end -}}
{{- if and .Values.serviceMonitor.enabled .Values.networkPolicy.enabled (not .Values.networkPolicy.metrics.enabled) -}}
{{- fail "serviceMonitor.enabled asks Prometheus to scrape the metrics port, which networkPolicy.metrics.enabled=false closes to every source: set networkPolicy.metrics.enabled=true (and networkPolicy.metrics.from to admit Prometheus), or serviceMonitor.enabled=false" -}}
{{- end -}}
{{- if .Values.serviceMonitor.enabled -}}
{{- /* The Prometheus Operator skips a ServiceMonitor whose scrapeTimeout exceeds its interval: no metric would be scraped. */ -}}
{{- $sm := .Values.serviceMonitor -}}
{{- if gt (include "mountgate.durationSeconds" $sm.scrapeTimeout | float64) (include "mountgate.durationSeconds" $sm.interval | float64) -}}
{{- fail (printf "serviceMonitor.scrapeTimeout (%s) must not be longer than serviceMonitor.interval (%s): the Prometheus Operator skips such a ServiceMonitor, and mountgate's metrics (the certificate expiry among them) would not be scraped" $sm.scrapeTimeout $sm.interval) -}}
{{- end -}}
{{- end -}}
{{- if and .Values.webhook.validating.enabled .Values.webhook.validating.annotationUpdates (not (semverCompare ">=1.28.0-0" .Capabilities.KubeVersion.Version)) -}}
{{- fail (printf "webhook.validating.annotationUpdates needs webhook matchConditions, which Kubernetes applies from 1.28 (this cluster is %s): without them the API server would send mountgate every Pod update and kubelet status write in the selected namespaces, and hold them while mountgate is down. Set webhook.validating.annotationUpdates=false (the mount annotation of a running Pod can then be changed; every Pod is still judged when it is created)" .Capabilities.KubeVersion.Version) -}}
{{- end -}}
{{- if eq (int .Values.server.port) (int .Values.server.metricsPort) -}}
{{- fail (printf "server.port and server.metricsPort must differ (both are %v): mountgate listens on each" .Values.server.port) -}}
{{- end -}}
{{- if eq (int .Values.service.port) (int .Values.server.metricsPort) -}}
{{- fail (printf "service.port and server.metricsPort must differ (both are %v): the Service serves each under its own port" .Values.service.port) -}}
{{- end -}}
{{- $annotation := include "mountgate.annotation" . -}}
{{- if eq $annotation (.Values.policy.sandboxUserAnnotation | default "mountgate.io/sandbox-user") -}}
{{- fail (printf "policy.sandboxUserAnnotation must differ from policy.annotation (both are %s)" $annotation) -}}
{{- end -}}
{{- range $key := keys (.Values.podLabels | default dict) | sortAlpha -}}
{{- if hasKey ($.Values.commonLabels | default dict) $key -}}
{{- fail (printf "podLabels and commonLabels both set %s: the Pod template carries both, and a key may appear only once" $key) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Seconds in a Go duration as values.schema.json admits it (e.g. 2160h, 1h30m, 1.5h, 300s, 500ms),
the form cert-manager reads.
*/}}
{{- define "mountgate.durationSeconds" -}}
{{- $units := dict "h" 3600.0 "m" 60.0 "s" 1.0 "ms" 0.001 "us" 0.000001 "µs" 0.000001 "ns" 0.000000001 -}}
{{- $total := 0.0 -}}
{{- range regexFindAll "[0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h)" (toString .) -1 -}}
{{- $unit := regexFind "(ns|us|µs|ms|s|m|h)$" . -}}
{{- $total = addf $total (mulf (trimSuffix $unit . | float64) (get $units $unit)) -}}
{{- end -}}
{{- $total -}}
{{- end -}}

{{- define "mountgate.terminationGracePeriodSeconds" -}}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds -}}
{{- /* After the delay: requests in flight for up to 30 s, the Lease handed back for up to 3 s, and 2 s to exit. */ -}}
{{- add (int .Values.server.shutdownDelay) 35 -}}
{{- else -}}
{{- int .Values.terminationGracePeriodSeconds -}}
{{- end -}}
{{- end -}}

{{/*
The caBundle (base64 PEM) for secret mode: the value may be given as PEM or as base64 of the PEM.
*/}}
{{- define "mountgate.secretModeCaBundle" -}}
{{- $v := trim .Values.certs.secret.caBundle -}}
{{- if contains "-----BEGIN" $v -}}
{{- printf "%s\n" $v | b64enc -}}
{{- else -}}
{{- $v | nospace -}}
{{- end -}}
{{- end -}}

{{/* PEM of the CA for secret mode (used by the helm test Pod). */}}
{{- define "mountgate.secretModeCaPem" -}}
{{- include "mountgate.secretModeCaBundle" . | b64dec -}}
{{- end -}}
