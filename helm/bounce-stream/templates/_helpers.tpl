{{/* Chart name, overridable. */}}
{{- define "bounce-stream.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: release-chart, or the release name when it already contains the chart name. */}}
{{- define "bounce-stream.fullname" -}}
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

{{- define "bounce-stream.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "bounce-stream.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bounce-stream.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "bounce-stream.labels" -}}
helm.sh/chart: {{ include "bounce-stream.chart" . }}
{{ include "bounce-stream.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: bounce-stream
{{- end -}}

{{- define "bounce-stream.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "bounce-stream.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "bounce-stream.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{/* Where the config file and the secret files live inside the container. */}}
{{- define "bounce-stream.configDir" -}}/etc/bounce-stream{{- end -}}
{{- define "bounce-stream.secretsDir" -}}/etc/bounce-stream/secrets{{- end -}}
{{- define "bounce-stream.kafkaSaslPasswordFile" -}}
{{- printf "%s/kafka/sasl-password" (include "bounce-stream.secretsDir" .) -}}
{{- end -}}
{{- define "bounce-stream.registryPasswordFile" -}}
{{- printf "%s/schema-registry/password" (include "bounce-stream.secretsDir" .) -}}
{{- end -}}

{{/*
The service's config file: values.config plus the mailboxes, the metrics listener and the
*_file paths of the mounted Secrets. Password keys never come from values (the schema refuses
them); they are refused here again so that a schema bypass cannot put a secret in a ConfigMap.
*/}}
{{- define "bounce-stream.config" -}}
{{- $cfg := deepCopy .Values.config -}}
{{- range $section := list "kafka" "schema_registry" -}}
{{- $s := get $cfg $section | default dict -}}
{{- range $key := list "password" "sasl_password" "password_env" "sasl_password_env" "password_file" "sasl_password_file" -}}
{{- if hasKey $s $key -}}
{{- fail (printf "config.%s.%s is not allowed: credentials come only from Secrets (see values.yaml)" $section $key) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $kafka := get $cfg "kafka" | default dict -}}
{{- if .Values.kafka.sasl.existingSecret -}}
{{- $_ := set $kafka "sasl_password_file" (include "bounce-stream.kafkaSaslPasswordFile" .) -}}
{{- end -}}
{{- $_ := set $cfg "kafka" $kafka -}}
{{- $registry := get $cfg "schema_registry" | default dict -}}
{{- if .Values.schemaRegistry.auth.existingSecret -}}
{{- $_ := set $registry "password_file" (include "bounce-stream.registryPasswordFile" .) -}}
{{- end -}}
{{- $_ := set $cfg "schema_registry" $registry -}}
{{- $mailboxes := list -}}
{{- range $mb := .Values.mailboxes -}}
{{- range $key := list "password" "password_env" "password_file" -}}
{{- if hasKey $mb $key -}}
{{- fail (printf "mailboxes[%s].%s is not allowed: give existingSecret instead" $mb.name $key) -}}
{{- end -}}
{{- end -}}
{{- $auth := deepCopy ($mb.auth | default dict) -}}
{{- range $key := list "client_secret" "client_secret_file" "client_secret_env" "certificate_file" "private_key_file" "service_account_file" -}}
{{- if hasKey $auth $key -}}
{{- fail (printf "mailboxes[%s].auth.%s is not allowed: give existingSecret instead" $mb.name $key) -}}
{{- end -}}
{{- end -}}
{{- $kind := include "bounce-stream.mailboxCredential" $mb -}}
{{- if and (ne $kind "none") (not $mb.existingSecret) -}}
{{- fail (printf "mailboxes[%s].existingSecret is required (a Secret holding the %s)" $mb.name $kind) -}}
{{- end -}}
{{- $dir := printf "%s/mailboxes/%s" (include "bounce-stream.secretsDir" $) $mb.name -}}
{{- $entry := omit $mb "existingSecret" "existingSecretKey" "existingSecretCertificateKey" "existingSecretPrivateKeyKey" "oauth2Certificate" "auth" -}}
{{- if eq $kind "password" -}}
{{- $_ := set $entry "password_file" (printf "%s/password" $dir) -}}
{{- else if eq $kind "client-secret" -}}
{{- $_ := set $auth "client_secret_file" (printf "%s/client-secret" $dir) -}}
{{- else if eq $kind "certificate" -}}
{{- $_ := set $auth "certificate_file" (printf "%s/certificate" $dir) -}}
{{- $_ := set $auth "private_key_file" (printf "%s/private-key" $dir) -}}
{{- else if eq $kind "service-account" -}}
{{- $_ := set $auth "service_account_file" (printf "%s/service-account.json" $dir) -}}
{{- else if eq $kind "token" -}}
{{- $_ := set $auth "token_file" (printf "%s/token" $dir) -}}
{{- end -}}
{{- if $auth -}}
{{- $_ := set $entry "auth" $auth -}}
{{- end -}}
{{- $mailboxes = append $mailboxes $entry -}}
{{- end -}}
{{- $_ := set $cfg "mailboxes" $mailboxes -}}
{{- $_ := set $cfg "metrics" (dict "enabled" true "host" "0.0.0.0" "port" (int .Values.metrics.port)) -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/*
What a mailbox's existingSecret holds, from its auth section: "password" (LOGIN),
"client-secret" or "certificate" (microsoft; the latter with oauth2Certificate: true),
"service-account" (google), "token" (token_file, unless auth.token_file names a file of its
own, e.g. a sidecar's volume: then "none").
*/}}
{{- define "bounce-stream.mailboxCredential" -}}
{{- $auth := .auth | default dict -}}
{{- if ne ($auth.method | default "login") "oauth2" -}}password
{{- else if eq $auth.provider "microsoft" -}}{{ if .oauth2Certificate }}certificate{{ else }}client-secret{{ end }}
{{- else if eq $auth.provider "google" -}}service-account
{{- else if and (eq $auth.provider "token_file") (not $auth.token_file) -}}token
{{- else -}}none
{{- end -}}
{{- end -}}

{{/* The items of a mailbox's existingSecret: secret key -> file under mailboxes/<name>/; the
key defaults to the file's name (tls.crt and tls.key for a certificate). */}}
{{- define "bounce-stream.mailboxSecretItems" -}}
{{- $kind := include "bounce-stream.mailboxCredential" . -}}
{{- if eq $kind "certificate" -}}
- key: {{ .existingSecretCertificateKey | default "tls.crt" }}
  path: mailboxes/{{ .name }}/certificate
- key: {{ .existingSecretPrivateKeyKey | default "tls.key" }}
  path: mailboxes/{{ .name }}/private-key
{{- else -}}
{{- $file := get (dict "password" "password" "client-secret" "client-secret" "service-account" "service-account.json" "token" "token") $kind -}}
- key: {{ .existingSecretKey | default $file }}
  path: mailboxes/{{ .name }}/{{ $file }}
{{- end -}}
{{- end -}}

{{/* Non-empty when at least one Secret is mounted. */}}
{{- define "bounce-stream.hasSecrets" -}}
{{- $any := or .Values.kafka.sasl.existingSecret .Values.schemaRegistry.auth.existingSecret -}}
{{- range .Values.mailboxes -}}
{{- if .existingSecret -}}{{- $any = true -}}{{- end -}}
{{- end -}}
{{- if $any -}}true{{- end -}}
{{- end -}}


{{/* The container's volume mounts, shared by the workload and the `helm test` pod. */}}
{{- define "bounce-stream.volumeMounts" -}}
- name: config
  mountPath: {{ include "bounce-stream.configDir" . }}/config.yaml
  subPath: config.yaml
  readOnly: true
{{- if include "bounce-stream.hasSecrets" . }}
# No subPath: the kubelet refreshes rotated Secret files in place.
- name: secrets
  mountPath: {{ include "bounce-stream.secretsDir" . }}
  readOnly: true
{{- end }}
- name: tmp
  mountPath: /tmp
{{- with .Values.extraVolumeMounts }}
{{- toYaml . | nindent 0 }}
{{- end }}
{{- end -}}

{{/* The pod's volumes (config, secrets, /tmp, extraVolumes), shared like the mounts. */}}
{{- define "bounce-stream.volumes" -}}
- name: config
  configMap:
    name: {{ include "bounce-stream.fullname" . }}
{{- if include "bounce-stream.hasSecrets" . }}
- name: secrets
  projected:
    defaultMode: 0440
    sources:
      {{- range .Values.mailboxes }}
      {{- if ne (include "bounce-stream.mailboxCredential" .) "none" }}
      - secret:
          name: {{ .existingSecret }}
          items:
            {{- include "bounce-stream.mailboxSecretItems" . | nindent 12 }}
      {{- end }}
      {{- end }}
      {{- with .Values.kafka.sasl }}
      {{- if .existingSecret }}
      - secret:
          name: {{ .existingSecret }}
          items:
            - key: {{ .existingSecretKey | default "password" }}
              path: kafka/sasl-password
      {{- end }}
      {{- end }}
      {{- with .Values.schemaRegistry.auth }}
      {{- if .existingSecret }}
      - secret:
          name: {{ .existingSecret }}
          items:
            - key: {{ .existingSecretKey | default "password" }}
              path: schema-registry/password
      {{- end }}
      {{- end }}
{{- end }}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- with .Values.extraVolumes }}
{{- toYaml . | nindent 0 }}
{{- end }}
{{- end -}}
