{{- /*
certs.mode=helm: which CA and serving certificate a render keeps and which it issues. The lookups
stay in webhooks.yaml; these helpers take what was found, so a test can hand them any Secret.
*/ -}}

{{- /*
The validity of the first certificate in a base64 PEM (a Secret's tls.crt) as JSON
{"notBefore": <unix s>, "notAfter": <unix s>}, or {} when it cannot be read. Sprig has no X.509
parser, but DER needs none here: a certificate's validity holds its first two time values
(UTCTime: tag 0x17, 13 bytes; GeneralizedTime from 2050: tag 0x18, 15 bytes); only the serial,
the signature algorithm and the issuer name come before them.
*/ -}}
{{- define "mountgate.certTimes" -}}
{{- $pem := toString (. | default "") | b64dec -}}
{{- $block := regexFind "-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\\s]+-----END CERTIFICATE-----" $pem -}}
{{- $der := regexReplaceAll "-----[A-Z ]+-----|\\s" $block "" | b64dec -}}
{{- $found := regexFindAll "\\x17\\x0d[0-9]{12}Z|\\x18\\x0f[0-9]{14}Z" $der 2 -}}
{{- $out := dict -}}
{{- if and $block (eq (len $found) 2) -}}
{{- $epochs := list -}}
{{- range $found -}}
{{- $v := substr 2 -1 . -}}
{{- $layout := ternary "060102150405Z07:00" "20060102150405Z07:00" (eq (len $v) 13) -}}
{{- $epochs = append $epochs (mustToDate $layout $v | unixEpoch | int64) -}}
{{- end -}}
{{- $out = dict "notBefore" (index $epochs 0) "notAfter" (index $epochs 1) -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{- /*
"keep", "renew" (expired, or less than a third of its validity left) or "unknown" (unreadable)
for a base64 PEM certificate. A third: with the defaults the serving certificate (825 days) is
reissued from day 550 and the CA (3650 days) from day 2434, so a yearly upgrade renews both in time.
*/ -}}
{{- define "mountgate.certVerdict" -}}
{{- $t := include "mountgate.certTimes" . | fromJson -}}
{{- if not (hasKey $t "notAfter") -}}
unknown
{{- else -}}
{{- $notBefore := int64 $t.notBefore -}}
{{- $notAfter := int64 $t.notAfter -}}
{{- $renewAt := sub $notAfter (div (sub $notAfter $notBefore) 3) -}}
{{- if lt (now | unixEpoch | int64) $renewAt -}}keep{{- else -}}renew{{- end -}}
{{- end -}}
{{- end -}}

{{- /* True ("true") when the base64 PEM certificate can be read and has not expired. */ -}}
{{- define "mountgate.certUnexpired" -}}
{{- $t := include "mountgate.certTimes" . | fromJson -}}
{{- if and (hasKey $t "notAfter") (lt (now | unixEpoch | int64) (int64 $t.notAfter)) -}}true{{- end -}}
{{- end -}}

{{- /*
The CA and serving certificate for this render, as JSON {caCrt, caKey, previousCaCrt, caBundle,
tlsCrt, tlsKey, sans} (base64 PEM strings; sans is the checksum kept on the TLS Secret).
Input: (dict "root" $ "oldCa" <CA Secret or empty> "oldTls" <TLS Secret or empty>).

- CA: kept unless it is due for renewal; a CA that cannot be read is kept (a new CA changes the
  caBundle, and an unreadable one may still be what the running Pods' certificate chains to).
- A renewed CA that has not yet expired stays in the caBundle (previousCaCrt) until it expires:
  the Pods serve the old certificate until the kubelet refreshes the mounted Secret, and the
  API server must keep trusting it meanwhile. Its key is not kept, so nothing new is signed by it.
- Serving certificate: kept only when it was signed by this CA, for these names, and is not due;
  one that cannot be read is reissued (same CA, so the caBundle does not change and mountgate
  re-reads the file without a restart).
*/ -}}
{{- define "mountgate.helmCerts" -}}
{{- $root := .root -}}
{{- $fullname := include "mountgate.fullname" $root -}}
{{- $ns := $root.Release.Namespace -}}
{{- $dnsNames := include "mountgate.dnsNames" $root | fromJsonArray -}}
{{- $ips := include "mountgate.ipAddresses" $root | fromJsonArray -}}
{{- $sans := printf "%s|%s" (join "," $dnsNames) (join "," $ips) | sha256sum | trunc 16 -}}
{{- $oldCaData := dig "data" dict (.oldCa | default dict) -}}
{{- $oldCaCrt := toString (get $oldCaData "tls.crt" | default "") -}}
{{- $oldCaKey := toString (get $oldCaData "tls.key" | default "") -}}
{{- $oldPrevious := toString (get $oldCaData "previous.crt" | default "") -}}
{{- $caCrt := "" -}}
{{- $caKey := "" -}}
{{- $previous := "" -}}
{{- $ca := dict -}}
{{- if and $oldCaCrt $oldCaKey (ne (include "mountgate.certVerdict" $oldCaCrt) "renew") -}}
{{- $caCrt = $oldCaCrt -}}
{{- $caKey = $oldCaKey -}}
{{- $ca = buildCustomCert $caCrt $caKey -}}
{{- if include "mountgate.certUnexpired" $oldPrevious -}}
{{- $previous = $oldPrevious -}}
{{- end -}}
{{- else -}}
{{- $ca = genCA (printf "%s-ca" $fullname) (int $root.Values.certs.helm.caValidityDays) -}}
{{- $caCrt = $ca.Cert | b64enc -}}
{{- $caKey = $ca.Key | b64enc -}}
{{- if include "mountgate.certUnexpired" $oldCaCrt -}}
{{- $previous = $oldCaCrt -}}
{{- end -}}
{{- end -}}
{{- $caBundle := $caCrt -}}
{{- if $previous -}}
{{- $caBundle = printf "%s\n%s" (b64dec $caCrt | trim) (b64dec $previous | trim) | b64enc -}}
{{- end -}}
{{- $oldTls := .oldTls | default dict -}}
{{- $oldTlsData := dig "data" dict $oldTls -}}
{{- $oldTlsCrt := toString (get $oldTlsData "tls.crt" | default "") -}}
{{- $oldTlsKey := toString (get $oldTlsData "tls.key" | default "") -}}
{{- $oldTlsCa := toString (get $oldTlsData "ca.crt" | default "") -}}
{{- $oldSans := toString (dig "metadata" "annotations" "mountgate.io/sans-checksum" "" $oldTls) -}}
{{- $tlsCrt := "" -}}
{{- $tlsKey := "" -}}
{{- if and $oldTlsCrt $oldTlsKey (eq $oldTlsCa $caCrt) (eq $oldSans $sans) (eq (include "mountgate.certVerdict" $oldTlsCrt) "keep") -}}
{{- $tlsCrt = $oldTlsCrt -}}
{{- $tlsKey = $oldTlsKey -}}
{{- else -}}
{{- $cert := genSignedCert (printf "%s.%s.svc" $fullname $ns) $ips $dnsNames (int $root.Values.certs.helm.certValidityDays) $ca -}}
{{- $tlsCrt = $cert.Cert | b64enc -}}
{{- $tlsKey = $cert.Key | b64enc -}}
{{- end -}}
{{- toJson (dict "caCrt" $caCrt "caKey" $caKey "previousCaCrt" $previous "caBundle" $caBundle "tlsCrt" $tlsCrt "tlsKey" $tlsKey "sans" $sans) -}}
{{- end -}}
