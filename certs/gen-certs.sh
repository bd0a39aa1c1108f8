#!/usr/bin/env bash
# Generates a private CA and a TLS serving certificate for the mountgate webhook, for local use
# and tests. Production clusters should use cert-manager or the chart's own certificates.
#
#   certs/gen-certs.sh OUTDIR [options]
#
# Options (environment variable in brackets):
#   --service NAME      Service name                      [MOUNTGATE_SERVICE, default mountgate]
#   --namespace NS      Service namespace                 [MOUNTGATE_NAMESPACE, default mountgate]
#   --dns NAME          extra DNS SAN (repeatable)        [MOUNTGATE_EXTRA_DNS, space separated]
#   --ip ADDR           extra IP SAN (repeatable)         [MOUNTGATE_EXTRA_IPS, space separated]
#   --no-local          leave out the localhost and 127.0.0.1 SANs
#   --days N            validity in days                  [MOUNTGATE_CERT_DAYS, default 365]
#   --key-type ec|rsa   key algorithm (P-256 or RSA 2048)  [MOUNTGATE_KEY_TYPE, default ec]
#   --force             overwrite files already in OUTDIR
#
# Writes into OUTDIR: ca.crt, ca.key (the CA), tls.crt, tls.key (the serving pair, signed by the CA)
# and ca.b64 (ca.crt as one base64 line, ready for a webhook caBundle). Keys are mode 0600.
# SANs: <svc>, <svc>.<ns>, <svc>.<ns>.svc, <svc>.<ns>.svc.cluster.local, localhost, 127.0.0.1, plus extras.
# Never commit the output: certs/.gitignore ignores keys and certificates written under certs/.
set -euo pipefail

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "gen-certs: $*" >&2; exit 2; }

command -v openssl >/dev/null 2>&1 || die "openssl is required"

out=""
service="${MOUNTGATE_SERVICE:-mountgate}"
namespace="${MOUNTGATE_NAMESPACE:-mountgate}"
days="${MOUNTGATE_CERT_DAYS:-365}"
key_type="${MOUNTGATE_KEY_TYPE:-ec}"
local_sans=1
force=0
read -r -a extra_dns <<<"${MOUNTGATE_EXTRA_DNS:-}"
read -r -a extra_ips <<<"${MOUNTGATE_EXTRA_IPS:-}"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --service) [[ $# -ge 2 ]] || usage; service="$2"; shift 2 ;;
    --namespace) [[ $# -ge 2 ]] || usage; namespace="$2"; shift 2 ;;
    --dns) [[ $# -ge 2 ]] || usage; extra_dns+=("$2"); shift 2 ;;
    --ip) [[ $# -ge 2 ]] || usage; extra_ips+=("$2"); shift 2 ;;
    --days) [[ $# -ge 2 ]] || usage; days="$2"; shift 2 ;;
    --key-type) [[ $# -ge 2 ]] || usage; key_type="$2"; shift 2 ;;
    --no-local) local_sans=0; shift ;;
    --force) force=1; shift ;;
    -h|--help) usage ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [[ -z "$out" ]] || die "only one OUTDIR may be given"; out="$1"; shift ;;
  esac
done

[[ -n "$out" ]] || usage
dns_label='^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'
[[ "$service" =~ $dns_label ]] || die "--service '$service' is not a DNS label"
[[ "$namespace" =~ $dns_label ]] || die "--namespace '$namespace' is not a DNS label"
[[ "$days" =~ ^[1-9][0-9]*$ ]] || die "--days '$days' is not a positive integer"
case "$key_type" in ec|rsa) ;; *) die "--key-type must be ec or rsa, not '$key_type'" ;; esac
# Each SAN goes into openssl's extension file as it is: a comma or a line break would add names or
# extensions of its own. openssl itself checks an IPv6 address further.
dns_name='^(\*\.)?[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*$'
octet='(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])'
ipv4="^$octet(\.$octet){3}\$"
ipv6='^[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*$'
for d in "${extra_dns[@]}"; do [[ -z "$d" || "$d" =~ $dns_name ]] || die "--dns '$d' is not a DNS name"; done
for i in "${extra_ips[@]}"; do [[ -z "$i" || "$i" =~ $ipv4 || "$i" =~ $ipv6 ]] || die "--ip '$i' is not an IP address"; done

mkdir -p "$out"
if [[ "$force" -eq 0 ]]; then
  for f in ca.crt ca.key tls.crt tls.key ca.b64; do
    [[ ! -e "$out/$f" ]] || die "$out/$f exists (use --force to overwrite)"
  done
fi

dns=("$service" "$service.$namespace" "$service.$namespace.svc" "$service.$namespace.svc.cluster.local")
ips=()
if [[ "$local_sans" -eq 1 ]]; then
  dns+=(localhost)
  ips+=(127.0.0.1)
fi
dns+=("${extra_dns[@]}")
ips+=("${extra_ips[@]}")

san=""
for d in "${dns[@]}"; do if [[ -n "$d" ]]; then san+="${san:+,}DNS:$d"; fi; done
for i in "${ips[@]}"; do if [[ -n "$i" ]]; then san+="${san:+,}IP:$i"; fi; done

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# openssl's notes stay quiet; its errors are shown.
quiet() { "$@" 2>"$tmp/openssl.err" || { cat "$tmp/openssl.err" >&2; echo "gen-certs: openssl $2 failed" >&2; exit 1; }; }

genkey() {
  if [[ "$key_type" == ec ]]; then
    quiet openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"
  else
    quiet openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1"
  fi
}

umask 077
genkey "$tmp/ca.key"
openssl req -x509 -new -key "$tmp/ca.key" -sha256 -days "$days" \
  -subj "/CN=mountgate-ca ($service.$namespace)" \
  -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -addext "subjectKeyIdentifier=hash" \
  -out "$tmp/ca.crt"

genkey "$tmp/tls.key"
openssl req -new -key "$tmp/tls.key" -subj "/CN=$service.$namespace.svc" -out "$tmp/tls.csr"
cat >"$tmp/ext.cnf" <<CNF
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = $san
CNF
quiet openssl x509 -req -in "$tmp/tls.csr" -CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" -CAcreateserial \
  -sha256 -days "$days" -extfile "$tmp/ext.cnf" -out "$tmp/tls.crt"
openssl verify -CAfile "$tmp/ca.crt" "$tmp/tls.crt" >/dev/null

base64 <"$tmp/ca.crt" | tr -d '\n' >"$tmp/ca.b64"
chmod 0600 "$tmp/ca.key" "$tmp/tls.key"
chmod 0644 "$tmp/ca.crt" "$tmp/tls.crt" "$tmp/ca.b64"
for f in ca.crt ca.key tls.crt tls.key ca.b64; do mv -f "$tmp/$f" "$out/$f"; done

echo "wrote $out/{ca.crt,ca.key,tls.crt,tls.key,ca.b64}; SANs: $san" >&2
