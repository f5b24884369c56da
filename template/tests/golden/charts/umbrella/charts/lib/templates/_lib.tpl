{{- define "lib.helper" -}}
lib-{{ .Chart.Name }}
{{- end -}}
{{- define "common.label" -}}
owner: lib
{{- end -}}
