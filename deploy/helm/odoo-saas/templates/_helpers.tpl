{{- define "odoo-saas.name" -}}{{ .Release.Name | trunc 40 | trimSuffix "-" }}{{- end -}}

{{- define "odoo-saas.labels" -}}
app.kubernetes.io/name: odoo-saas
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "odoo-saas.selector" -}}
app.kubernetes.io/name: odoo-saas
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "odoo-saas.image" -}}{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}{{- end -}}

{{- define "odoo-saas.databaseSecret" -}}
{{- if .Values.database.cnpg.enabled -}}{{ include "odoo-saas.name" . }}-db-app{{- else -}}{{ required "database.existingSecret is required when database.cnpg.enabled is false" .Values.database.existingSecret }}{{- end -}}
{{- end -}}

{{/* The pod of either role: the same image and configuration, RUN_WORKERS tells them apart. */}}
{{- define "odoo-saas.pod" -}}
{{- $root := .root -}}
metadata:
  labels:
    {{- include "odoo-saas.selector" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .role }}
  annotations:
    checksum/kubeconfig: {{ include (print $root.Template.BasePath "/kubeconfig.yaml") $root | sha256sum }}
spec:
  serviceAccountName: {{ include "odoo-saas.name" $root }}
  {{- with $root.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    runAsNonRoot: true
    runAsUser: 1000
    runAsGroup: 1000
    fsGroup: 1000
    seccompProfile: { type: RuntimeDefault }
  {{- with $root.Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $root.Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  topologySpreadConstraints:
    - maxSkew: 1
      topologyKey: kubernetes.io/hostname
      whenUnsatisfiable: ScheduleAnyway
      labelSelector:
        matchLabels:
          {{- include "odoo-saas.selector" $root | nindent 10 }}
          app.kubernetes.io/component: {{ .role }}
  containers:
    - name: platform
      image: {{ include "odoo-saas.image" $root | quote }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      ports:
        - { name: http, containerPort: 8080, protocol: TCP }
      env:
        - { name: NODE_ENV, value: production }
        - { name: PORT, value: "8080" }
        - { name: DATA_DIR, value: /data }
        - { name: RUN_WORKERS, value: {{ eq .role "worker" | quote }} }
        - { name: TRUST_PROXY, value: "true" }
        - { name: ODOO_AUTO_INSTALL, value: "false" }
        - { name: BASE_DOMAIN, value: {{ $root.Values.baseDomain | quote }} }
        - { name: PUBLIC_URL, value: {{ $root.Values.publicUrl | default (printf "https://app.%s" $root.Values.baseDomain) | quote }} }
        - name: SECRET_KEY
          valueFrom:
            secretKeyRef: { name: {{ $root.Values.secretKey.existingSecret | quote }}, key: {{ $root.Values.secretKey.key | quote }} }
        - name: DATABASE_URL
          valueFrom:
            secretKeyRef: { name: {{ include "odoo-saas.databaseSecret" $root | quote }}, key: {{ ternary "uri" $root.Values.database.key $root.Values.database.cnpg.enabled | quote }} }
        - name: TENANT_DATABASE_URL
          valueFrom:
            secretKeyRef: { name: {{ $root.Values.tenantDatabase.existingSecret | quote }}, key: {{ $root.Values.tenantDatabase.key | quote }} }
        - { name: KUBERNETES_KUBECONFIG, value: /etc/odoo-saas/kubeconfig }
        - { name: KUBERNETES_ODOO_IMAGE, value: {{ $root.Values.kubernetes.odooImage | quote }} }
        - { name: KUBERNETES_INGRESS_CLASS, value: {{ $root.Values.kubernetes.ingressClass | quote }} }
        - { name: KUBERNETES_INGRESS_NAMESPACE, value: {{ $root.Values.kubernetes.ingressNamespace | quote }} }
        - { name: KUBERNETES_INGRESS_UPSTREAM, value: {{ $root.Values.kubernetes.ingressUpstream | quote }} }
        {{- with $root.Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      readinessProbe:
        httpGet: { path: /readyz, port: http }
        periodSeconds: 10
      livenessProbe:
        httpGet: { path: /healthz, port: http }
        periodSeconds: 20
        failureThreshold: 3
      startupProbe:
        httpGet: { path: /healthz, port: http }
        periodSeconds: 5
        failureThreshold: 60
      resources:
        {{- toYaml .resources | nindent 8 }}
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities: { drop: [ALL] }
      volumeMounts:
        - { name: data, mountPath: /data }
        - { name: tmp, mountPath: /tmp }
        - { name: kubeconfig, mountPath: /etc/odoo-saas, readOnly: true }
  volumes:
    # Nothing durable is kept on a pod's disk: state is in PostgreSQL, the key in a Secret.
    - name: data
      emptyDir: {}
    - name: tmp
      emptyDir: {}
    - name: kubeconfig
      configMap:
        name: {{ include "odoo-saas.name" $root }}-kubeconfig
{{- end -}}
