#!/bin/sh
# Installs everything vkllm needs to build and test, from Debian packages only.
set -e
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
  build-essential cmake pkg-config \
  libpcre2-dev libutf8proc-dev libjansson-dev \
  libvulkan-dev libvulkan-volk-dev glslc mesa-vulkan-drivers vulkan-validationlayers
