variable "name" {
  description = "The Kyuubi server's name: its Deployment and Service are called this."
  type        = string
}

variable "namespace" {
  description = "The existing namespace the server (and its Spark engines) run in."
  type        = string
  default     = "kyuubi"
}

variable "image" {
  description = "The Kyuubi server image."
  type        = string
  default     = "apache/kyuubi:1.10.2-spark"
}

variable "engine_image" {
  description = "The Spark image for the engines' drivers and executors."
  type        = string
  default     = "apache/spark:3.5.3"
}

variable "share_level" {
  description = "kyuubi.engine.share.level: CONNECTION, USER, GROUP, SERVER_LOCAL or SERVER."
  type        = string
  default     = "USER"
}

variable "thrift_binary_port" {
  description = "The Thrift binary (JDBC) port of the server and its Service."
  type        = number
  default     = 10009
}

variable "engine_idle_timeout" {
  description = "How long an idle shared engine lives (ISO-8601); until then it keeps the settings it started with."
  type        = string
  default     = "PT30M"
}

variable "restart_engines" {
  description = "Delete this server's Spark driver pods after a rollout that changed the profile, so no engine keeps old settings."
  type        = bool
  default     = false
}

variable "kyuubi_conf" {
  description = "Further kyuubi.* settings, e.g. kyuubi.session.conf.ignore.list."
  type        = map(string)
  default     = null
}

variable "delivery" {
  description = "How the profile reaches the server pod: vault-agent or kubernetes-secret."
  type        = string
  default     = "vault-agent"
}

variable "vault_role" {
  description = "The Vault Kubernetes-auth role the Vault Agent injector logs in with (delivery = vault-agent)."
  type        = string
  default     = "kyuubi"
}

# --- The Spark profile -----------------------------------------------------------------------

variable "profile_mount" {
  description = "The KV v2 mount holding the profile."
  type        = string
  default     = "secret"
}

variable "profile_name" {
  description = "The profile's path under the mount; spark/<name> when null."
  type        = string
  default     = null
}

variable "executor_instances" {
  description = "Executors per Spark application (spark.executor.instances)."
  type        = number
  default     = 4
}

variable "executor_memory" {
  description = "Heap per executor (spark.executor.memory), e.g. 4g."
  type        = string
  default     = "4g"
}

variable "executor_cores" {
  description = "Task slots per executor (spark.executor.cores)."
  type        = number
  default     = 2
}

variable "executor_request_cores" {
  description = "CPU each executor pod requests (spark.kubernetes.executor.request.cores); the provider's default when null."
  type        = string
  default     = null
}

variable "shuffle_partitions" {
  description = "spark.sql.shuffle.partitions; the provider's default when null."
  type        = number
  default     = null
}

variable "extra_spark_conf" {
  description = "Further spark.* properties for the profile."
  type        = map(string)
  default     = null
}
