# The bench's Terraform peer: the tutorial's topology (half of the apps on the
# default bridge, half on a user-defined bridge, one host, one none) with this
# project's image and the same hardened container settings as
# src/components/FlaskContainer.ts. bench/lib/terraform.ts runs it from a
# working directory of its own; the provider must already be installed where
# the user's Terraform CLI config looks (the bench never downloads it).

terraform {
  required_version = ">= 1.5"
  required_providers {
    docker = {
      source = "kreuzwerker/docker"
      # The version @pulumi/docker 5.0.0 bridges.
      version = "4.2.0"
    }
  }
}

variable "containers" {
  description = "Containers in all: one host, one none, the rest halved between the two bridges (as bench/lib/project.ts layout())."
  type        = number
  default     = 8
  validation {
    condition     = var.containers >= 4 && var.containers <= 90
    error_message = "containers must be 4-90."
  }
}

variable "port_base" {
  description = "The host-mode app listens here; the published apps on port_base+1, +2, ..."
  type        = number
  default     = 28000
}

variable "bind_address" {
  type    = string
  default = "127.0.0.1"
}

variable "name_prefix" {
  type    = string
  default = "bench-tf"
}

variable "network_name" {
  type    = string
  default = "bench-tf-network"
}

variable "image_name" {
  type    = string
  default = "flask-bridge-bench"
}

variable "app_dir" {
  description = "The project's app/ (the build context)."
  type        = string
}

variable "base_image" {
  type    = string
  default = "python:3.11-slim"
}

variable "stack" {
  description = "The containers' and the network's flask-bridge.stack label."
  type        = string
  default     = "bench-terraform"
}

variable "image_stack" {
  description = "The image's STACK build argument: the bench's Pulumi stack's, so both tools run the very same image."
  type        = string
  default     = "bench"
}

locals {
  published = var.containers - 2
  bridge    = floor(local.published / 2)
  custom    = local.published - local.bridge
  labels = {
    "flask-bridge.project" = "flask-bridge"
    "flask-bridge.stack"   = var.stack
    # What the bench finds and cleans up by.
    "flask-bridge.bench" = "terraform"
  }
  # The project's HEALTHCHECK (src/plan/plan.ts).
  healthcheck = {
    test         = ["CMD", "bash", "/app/healthcheck.sh"]
    interval     = "10s"
    timeout      = "5s"
    start_period = "30s"
    retries      = 3
  }
  apps = merge(
    { for i in range(local.bridge) : "bridge-${i + 1}" => {
      kind = "bridge", port = var.port_base + 1 + i, env = ["PORT=5000", "HOST=0.0.0.0"]
    } },
    { for i in range(local.custom) : "custom-${i + 1}" => {
      kind = "custom", port = var.port_base + 1 + local.bridge + i, env = ["PORT=5000", "HOST=0.0.0.0"]
    } },
    # No port mapping in host mode: the app itself binds the host's port.
    { host = { kind = "host", port = null, env = ["PORT=${var.port_base}", "HOST=${var.bind_address}"] } },
    { none = { kind = "none", port = null, env = ["PORT=5000", "HOST=0.0.0.0"] } },
  )
}

# DOCKER_HOST (or the local socket) says which engine.
provider "docker" {}

# The tutorial's `docker build -t flask-hello-world .` (a cache hit once built), as the Pulumi stack does.
resource "docker_image" "app" {
  name = var.image_name
  build {
    context    = var.app_dir
    dockerfile = "Dockerfile"
    build_args = { BASE_IMAGE = var.base_image, STACK = var.image_stack }
    platform   = "linux/amd64"
  }
  # Like the bench's Pulumi stack (keepImageOnDestroy), destroy leaves the image cached.
  keep_locally = true
}

# The tutorial's `docker network create my-bridge-network`.
resource "docker_network" "custom" {
  name   = var.network_name
  driver = "bridge"
  dynamic "labels" {
    for_each = local.labels
    content {
      label = labels.key
      value = labels.value
    }
  }
}

resource "docker_container" "app" {
  for_each = local.apps
  name     = "${var.name_prefix}-${each.key}"
  image    = docker_image.app.image_id
  # "bridge" is stated, not left to the default (kreuzwerker/terraform-provider-docker#603).
  network_mode = each.value.kind == "custom" ? null : each.value.kind
  dynamic "networks_advanced" {
    for_each = each.value.kind == "custom" ? [docker_network.custom.name] : []
    content {
      name = networks_advanced.value
    }
  }
  dynamic "ports" {
    for_each = each.value.port == null || each.value.kind == "host" ? [] : [each.value.port]
    content {
      internal = 5000
      external = ports.value
      ip       = var.bind_address
      protocol = "tcp"
    }
  }
  env = each.value.env
  healthcheck {
    test         = local.healthcheck.test
    interval     = local.healthcheck.interval
    timeout      = local.healthcheck.timeout
    start_period = local.healthcheck.start_period
    retries      = local.healthcheck.retries
  }
  # The bench's HTTP wait is the readiness gate, as the project's probe is.
  wait    = false
  restart = "unless-stopped"
  # SIGTERM and up to 10 s, as the project's destroyGraceSeconds.
  destroy_grace_seconds = 10
  must_run              = true
  dynamic "labels" {
    for_each = merge(local.labels, { "flask-bridge.network-kind" = each.value.kind })
    content {
      label = labels.key
      value = labels.value
    }
  }
  user      = "10001:10001"
  read_only = true
  tmpfs     = { "/tmp" = "rw,noexec,nosuid,size=16m" }
  capabilities {
    drop = ["ALL"]
  }
  security_opts = ["no-new-privileges:true"]
  privileged    = false
}
