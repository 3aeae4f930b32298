{{/* Names: FULLNAME-ROLE for every object; FULLNAME is at most 40 characters
so StatefulSet pod names and their revision-hash labels stay within 63. */}}
{{- define "weaver.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "weaver.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* (dict "root" $ "role" "edge") -> FULLNAME-edge */}}
{{- define "weaver.roleName" -}}
{{- printf "%s-%s" (include "weaver.fullname" .root) .role -}}
{{- end -}}

{{- define "weaver.selectorLabels" -}}
app.kubernetes.io/name: {{ include "weaver.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .role }}
{{- end -}}

{{- define "weaver.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "weaver.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: weaver
{{- end -}}

{{- define "weaver.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The DNS name of a role's Service, and of tracker shard N's pod. */}}
{{- define "weaver.host" -}}
{{- printf "%s.%s.svc.%s" (include "weaver.roleName" .) .root.Release.Namespace .root.Values.clusterDomain -}}
{{- end -}}
{{- define "weaver.trackerHost" -}}
{{- $svc := include "weaver.roleName" (dict "root" .root "role" "tracker") -}}
{{- printf "%s-%d.%s.%s.svc.%s" $svc (int .shard) $svc .root.Release.Namespace .root.Values.clusterDomain -}}
{{- end -}}

{{/* "true" when the tracker runs inside each edge pod (tracker.placement edge,
the default: the link leaving the edge is then tracker->reid), "" when it
runs as the tracker StatefulSet's shards. */}}
{{- define "weaver.trackerAtEdge" -}}
{{- if eq (toString (default "edge" .Values.tracker.placement)) "edge" }}true{{ end -}}
{{- end -}}

{{/* The roles whose keypairs the mesh uses, as JSON ({"roles": [...]}): with
the tracker at the edge the detector has no remote link and its keypair is
not used (the edge pods are known by the tracker's key). */}}
{{- define "weaver.keyRoles" -}}
{{- $roles := list "tracker" "reid" "storage" "query" "gateway" -}}
{{- if not (include "weaver.trackerAtEdge" .) }}{{ $roles = prepend $roles "detector" }}{{ end -}}
{{- toJson (dict "roles" $roles) -}}
{{- end -}}

{{/* The tracker's state file in the pod that hosts it (tracker.state): one
per configuration file, so that no two processes share one. */}}
{{- define "weaver.trackerStateFile" -}}
{{- printf "/var/lib/weaver/tracker/%s.json" . -}}
{{- end -}}

{{/* The number of FPGAs an edge pod requests. */}}
{{- define "weaver.fpgaCount" -}}
{{- $n := int .Values.edge.fpga.count -}}
{{- if and (eq $n 0) (kindIs "slice" .Values.edge.cards) -}}
{{- range .Values.edge.cards -}}{{- if eq (toString .kind) "xrt" -}}{{- $n = add1 $n -}}{{- end -}}{{- end -}}
{{- end -}}
{{- $n -}}
{{- end -}}

{{/* Fails with a message naming the value when the values do not make a mesh. */}}
{{- define "weaver.validate" -}}
{{- $v := .Values -}}
{{- $edges := int $v.edge.replicas -}}
{{- if lt $edges 1 }}{{ fail "edge.replicas: must be at least 1" }}{{ end -}}
{{- if not (has (toString $v.tracker.placement) (list "edge" "shards")) -}}
{{- fail (printf "tracker.placement: %v (known: edge, shards)" $v.tracker.placement) -}}
{{- end -}}
{{- $shards := int $v.tracker.shards -}}
{{- if and (not (include "weaver.trackerAtEdge" .)) (or (lt $shards 1) (gt $shards $edges)) -}}
{{- fail (printf "tracker.shards: %d must be between 1 and edge.replicas (%d): edge pod i sends to shard i mod shards" $shards $edges) -}}
{{- end -}}
{{- if not $v.cameras }}{{ fail "cameras: at least one camera is required" }}{{ end -}}
{{- if and $v.edge.liveView.enabled (not $v.gateway.enabled) -}}
{{- fail "edge.liveView.enabled: needs gateway.enabled (the edge pods' live pictures take the gateway's token)" -}}
{{- end -}}
{{- if $v.edge.liveFrames.enabled -}}
{{- if not (include "weaver.trackerAtEdge" .) -}}
{{- fail "edge.liveFrames.enabled: needs tracker.placement edge (the pictures are sent by the tracker beside the cameras)" -}}
{{- end -}}
{{- if or (not $v.query.enabled) (not $v.gateway.enabled) -}}
{{- fail "edge.liveFrames.enabled: needs query.enabled and gateway.enabled (storage keeps the pictures in the store, SQLite or PostgreSQL; the query role hands them to the gateway)" -}}
{{- end -}}
{{- end -}}
{{- if and (eq $v.mesh.security "curve") (not $v.mesh.keys.existingSecret) -}}
{{- fail "mesh.keys.existingSecret: required with mesh.security curve (the default): a Secret with detector (tracker.placement shards only), tracker, reid, storage, query and gateway .key/.pub files from `weaver keys` (README: Mesh security), or mesh.security plain to run the links unauthenticated" -}}
{{- end -}}
{{- $ids := dict -}}
{{- $edgeOf := dict -}}
{{- range $i, $c := $v.cameras -}}
{{- $id := toString (int $c.id) -}}
{{- if hasKey $ids $id }}{{ fail (printf "cameras[%d].id: duplicate camera id %s" $i $id) }}{{ end -}}
{{- $_ := set $ids $id true -}}
{{- $e := int (default 0 $c.edge) -}}
{{- if or (lt $e 0) (ge $e $edges) -}}
{{- fail (printf "cameras[%d].edge: %d is not an edge pod (edge.replicas is %d)" $i $e $edges) -}}
{{- end -}}
{{- $_ := set $edgeOf $id $e -}}
{{- end -}}
{{- $existing := $v.cameraSecret.existingSecret -}}
{{- range $i, $c := $v.cameras -}}
{{- $src := toString (default "" $c.source) -}}
{{- $var := include "weaver.cameraSourceVar" $c.id -}}
{{- if and (not $src) (not $existing) -}}
{{- fail (printf "cameras[%d].source: required (or keep it in cameraSecret.existingSecret under %s)" $i $var) -}}
{{- end -}}
{{- if and $src $existing (not (hasPrefix "camera:" $src)) -}}
{{- fail (printf "cameras[%d].source: with cameraSecret.existingSecret camera %s's source is that Secret's key %s; remove it here (only camera:N sources stay in values)" $i (toString (int $c.id)) $var) -}}
{{- end -}}
{{- if hasPrefix "remote:" $src -}}
{{- fail (printf "cameras[%d].source: %s: the chart opens every camera on its edge pod (remote: sources are its own)" $i $src) -}}
{{- end -}}
{{- if hasPrefix "camera:" $src -}}
{{- $ref := trimPrefix "camera:" $src -}}
{{- if not (hasKey $edgeOf $ref) }}{{ fail (printf "cameras[%d].source: %s names no camera" $i $src) }}{{ end -}}
{{- if ne (int (get $edgeOf $ref)) (int (default 0 $c.edge)) -}}
{{- fail (printf "cameras[%d].edge: a virtual camera of camera %s must be on camera %s's edge pod (%d)" $i $ref $ref (int (get $edgeOf $ref))) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- range $e := until $edges -}}
{{- $n := 0 -}}
{{- range $v.cameras }}{{ if eq (int (default 0 .edge)) $e }}{{ $n = add1 $n }}{{ end }}{{ end -}}
{{- if eq $n 0 }}{{ fail (printf "edge.replicas: edge pod %d has no camera (set cameras[].edge)" $e) }}{{ end -}}
{{- end -}}
{{- if not (has $v.storage.kind (list "sqlite" "postgresql")) -}}
{{- fail (printf "storage.kind: %v (known: sqlite, postgresql)" $v.storage.kind) -}}
{{- end -}}
{{- if and (eq $v.storage.kind "postgresql") (not $v.storage.postgresql.host) -}}
{{- fail "storage.postgresql.host: required when storage.kind is postgresql" -}}
{{- end -}}
{{- if and (eq $v.storage.kind "postgresql") (not $v.storage.postgresql.existingSecret) (not $v.storage.postgresql.password) -}}
{{- fail "storage.postgresql: set existingSecret or password" -}}
{{- end -}}
{{- end -}}

{{/* Camera ID's source as an environment variable of the edge pods, and its
key in the cameras Secret. */}}
{{- define "weaver.cameraSourceVar" -}}
{{- printf "WEAVER_CAMERA_%d_SOURCE" (int .) -}}
{{- end -}}

{{/* The Secret holding the direct cameras' sources: the chart's or the user's. */}}
{{- define "weaver.cameraSecretName" -}}
{{- default (include "weaver.roleName" (dict "root" . "role" "cameras")) .Values.cameraSecret.existingSecret -}}
{{- end -}}

{{/* The edge container's environment: every direct camera's source from the
Secret (one pod template serves every edge pod, so each sees all of them).
As JSON ({"env": [...]}). */}}
{{- define "weaver.cameraEnv" -}}
{{- $secret := include "weaver.cameraSecretName" . -}}
{{- $env := list -}}
{{- range .Values.cameras -}}
{{- if not (hasPrefix "camera:" (toString (default "" .source))) -}}
{{- $var := include "weaver.cameraSourceVar" .id -}}
{{- $env = append $env (dict "name" $var "valueFrom" (dict "secretKeyRef" (dict "name" $secret "key" $var))) -}}
{{- end -}}
{{- end -}}
{{- toJson (dict "env" $env) -}}
{{- end -}}

{{/* Cameras for a process, without the chart's `edge` key:
(dict "root" $ "edge" N) for edge pod N, (dict "root" $ "shard" N) for
tracker shard N, (dict "root" $) for every camera. As JSON ({"cameras": [...]}).
No source URL reaches a configuration (they are in a ConfigMap): edge pod
N's names the environment variable its direct cameras' sources are in
("${WEAVER_CAMERA_<id>_SOURCE}", from the cameras Secret), virtual cameras
keep camera:N; every other process only learns which edge pod opens each
camera ("remote:edge-N", which Weaver refuses to open itself). */}}
{{- define "weaver.cameras" -}}
{{- $v := .root.Values -}}
{{- $shards := int $v.tracker.shards -}}
{{- $out := list -}}
{{- range $v.cameras -}}
{{- $e := int (default 0 .edge) -}}
{{- if or (and (hasKey $ "edge") (eq $e (int $.edge))) (and (hasKey $ "shard") (eq (mod $e $shards) (int $.shard))) (and (not (hasKey $ "edge")) (not (hasKey $ "shard"))) -}}
{{- $c := omit . "edge" -}}
{{- if hasKey $ "edge" -}}
{{- if not (hasPrefix "camera:" (toString (default "" .source))) -}}
{{- $_ := set $c "source" (printf "${%s}" (include "weaver.cameraSourceVar" .id)) -}}
{{- end -}}
{{- else -}}
{{- $_ := set $c "source" (printf "remote:edge-%d" $e) -}}
{{- end -}}
{{- $out = append $out $c -}}
{{- end -}}
{{- end -}}
{{- toJson (dict "cameras" $out) -}}
{{- end -}}

{{/* One process's weaver.yaml:
(dict "root" $ "cameras" LIST "endpoints" DICT "edge" BOOL "query" BOOL "metricsPort" N "key" ROLE
 and "stateFile" PATH for the process hosting a tracker when tracker.state.enabled),
"key" naming the keypair of the keys Secret the process uses (the edge pods: tracker with the tracker
at the edge, detector otherwise). */}}
{{- define "weaver.processConfig" -}}
{{- $v := .root.Values -}}
{{- $cfg := dict "realtime" $v.config.realtime -}}
{{- if $v.config.start_time }}{{ $_ := set $cfg "start_time" $v.config.start_time }}{{ end -}}
{{- $_ := set $cfg "cameras" .cameras -}}
{{- if .edge -}}
{{- $det := deepCopy (default dict $v.config.detector) -}}
{{- $dnn := deepCopy (default dict $det.dnn) -}}
{{- $_ := set $dnn "model" $v.model.path -}}
{{- if $v.model.weights }}{{ $_ := set $dnn "weights" $v.model.weights }}{{ end -}}
{{- $_ := set $det "dnn" $dnn -}}
{{- $_ := set $cfg "detector" $det -}}
{{- $_ := set $cfg "cards" $v.edge.cards -}}
{{- if $v.config.pool }}{{ $_ := set $cfg "pool" $v.config.pool }}{{ end -}}
{{- if $v.config.xrt }}{{ $_ := set $cfg "xrt" $v.config.xrt }}{{ end -}}
{{- end -}}
{{- $trk := deepCopy (default dict $v.config.tracker) -}}
{{- if .stateFile }}{{ $_ := set $trk "state_file" .stateFile }}{{ end -}}
{{- if $trk }}{{ $_ := set $cfg "tracker" $trk }}{{ end -}}
{{- if $v.config.reid }}{{ $_ := set $cfg "reid" $v.config.reid }}{{ end -}}
{{- if and .query $v.config.query }}{{ $_ := set $cfg "query" $v.config.query }}{{ end -}}
{{- if eq $v.storage.kind "sqlite" -}}
{{- $_ := set $cfg "storage" (dict "path" "/var/lib/weaver/data/weaver.db") -}}
{{- else -}}
{{- $pg := $v.storage.postgresql -}}
{{- $_ := set $cfg "storage" (dict "url" (printf "postgresql://%s@%s:%d/%s?sslmode=%s" $pg.user $pg.host (int $pg.port) $pg.database $pg.sslmode)) -}}
{{- end -}}
{{- $_ := set $cfg "metrics" (dict "port" (int .metricsPort) "bind" "0.0.0.0") -}}
{{- /* CURVE (the default): this process's secret and every role's public key from the keys Secret,
mounted at /etc/weaver-keys (weaver.volumes); plain only when mesh.security says so (Weaver then warns;
with networkPolicy.enabled only the upstream role's pods reach each mesh port). */ -}}
{{- $mesh := dict "endpoints" .endpoints -}}
{{- if eq $v.mesh.security "curve" -}}
{{- $pub := dict -}}
{{- range (fromJson (include "weaver.keyRoles" .root)).roles }}{{ $_ := set $pub . (printf "/etc/weaver-keys/%s.pub" .) }}{{ end -}}
{{- $_ := set $mesh "keys" (dict "secret" (printf "/etc/weaver-keys/%s.key" .key) "public" $pub) -}}
{{- else -}}
{{- $_ := set $mesh "security" "plain" -}}
{{- end -}}
{{- $_ := set $cfg "mesh" $mesh -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/* The container shared by every role:
(dict "root" $ "name" CONTAINER "command" SHELL "meshPort" N-or-0 "metricsPort" N "resources" DICT
 and optionally "env" LIST "extraMounts" LIST "extraPorts" LIST "meshPortName" "metricsPortName" (port names are
 unique per pod: the query container beside storage names its own)) */}}
{{- define "weaver.container" -}}
{{- $v := .root.Values -}}
- name: {{ .name }}
  image: {{ include "weaver.image" .root | quote }}
  imagePullPolicy: {{ $v.image.pullPolicy }}
  command: ["/bin/sh", "-c"]
  args:
    - {{ .command | quote }}
  ports:
    {{- if .meshPort }}
    - name: {{ .meshPortName | default "mesh" }}
      containerPort: {{ int .meshPort }}
      protocol: TCP
    {{- end }}
    - name: {{ .metricsPortName | default "http-metrics" }}
      containerPort: {{ int .metricsPort }}
      protocol: TCP
    {{- with .extraPorts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .env }}
  env:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  startupProbe:
    httpGet: {path: /healthz, port: {{ .metricsPortName | default "http-metrics" }}}
    {{- toYaml $v.probes.startup | nindent 4 }}
  livenessProbe:
    httpGet: {path: /healthz, port: {{ .metricsPortName | default "http-metrics" }}}
    {{- toYaml $v.probes.liveness | nindent 4 }}
  readinessProbe:
    httpGet: {path: /readyz, port: {{ .metricsPortName | default "http-metrics" }}}
    {{- toYaml $v.probes.readiness | nindent 4 }}
  resources:
    {{- toYaml .resources | nindent 4 }}
  securityContext:
    {{- toYaml $v.securityContext | nindent 4 }}
  volumeMounts:
    - name: config
      mountPath: /etc/weaver
      readOnly: true
    - name: tmp
      mountPath: /tmp
    {{- if eq $v.mesh.security "curve" }}
    - name: mesh-keys
      mountPath: /etc/weaver-keys
      readOnly: true
    {{- end }}
    {{- with .extraMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
    {{- with $v.volumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end -}}

{{/* Pod-level fields shared by every role: (dict "root" $ "role" ROLE "spec" ROLEVALUES) */}}
{{- define "weaver.podCommon" -}}
{{- $v := .root.Values -}}
{{- with $v.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml $v.podSecurityContext | nindent 2 }}
enableServiceLinks: false
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .spec.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .spec.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Volumes every role mounts: (dict "root" $ "role" ROLE). With CURVE, the keys Secret projected
so that a pod holds its own secret key(s) and every used role's public key (the Secret's ROLE.key and
ROLE.pub for tracker, reid, storage, query, gateway and, with tracker.placement shards, detector;
the edge pods hold tracker.key with the tracker at the edge, detector.key otherwise), nothing more. */}}
{{- define "weaver.volumes" -}}
{{- $v := .root.Values -}}
- name: config
  configMap:
    name: {{ include "weaver.roleName" (dict "root" .root "role" "config") }}
- name: tmp
  emptyDir: {}
{{- if eq $v.mesh.security "curve" }}
{{- $own := list (ternary (ternary "tracker" "detector" (eq (include "weaver.trackerAtEdge" .root) "true")) .role (eq .role "edge")) }}
{{- if and (eq .role "storage") (eq $v.storage.kind "sqlite") $v.query.enabled }}{{ $own = append $own "query" }}{{ end }}
- name: mesh-keys
  secret:
    secretName: {{ $v.mesh.keys.existingSecret }}
    defaultMode: 288   # 0440: the pod's group (fsGroup) reads, nobody writes
    items:
      {{- range $own }}
      - {key: {{ . }}.key, path: {{ . }}.key}
      {{- end }}
      {{- range (fromJson (include "weaver.keyRoles" .root)).roles }}
      - {key: {{ . }}.pub, path: {{ . }}.pub}
      {{- end }}
{{- end }}
{{- if and $v.tracker.state.enabled (eq .role (ternary "edge" "tracker" (eq (include "weaver.trackerAtEdge" .root) "true"))) }}
{{- /* the tracker's snapshot (tracker.state_file): survives the container's restarts, not the pod */}}
- name: tracker-state
  emptyDir: {}
{{- end }}
{{- with .root.Values.volumes }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Pod annotations: the configuration's checksum restarts pods when it changes. */}}
{{- define "weaver.podAnnotations" -}}
checksum/config: {{ include (print .root.Template.BasePath "/configmap.yaml") .root | sha256sum }}
{{- with .spec.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The Secret holding the gateway's bearer token (gateway.existingSecret, else the chart's). */}}
{{- define "weaver.gatewaySecret" -}}
{{- default (include "weaver.roleName" (dict "root" . "role" "gateway")) .Values.gateway.existingSecret -}}
{{- end -}}
