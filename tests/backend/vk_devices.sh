#!/bin/bash
# vk_devices.sh — `vkllm devices` lists the Vulkan devices with their limits,
# or says there are none (a loud SKIP; a failure under CI, where lavapipe is
# installed). Leak checking is off for this one process: the loader unloads
# the driver before LeakSanitizer reports, so Mesa's own leaks cannot be
# matched by tests/lsan.supp; our listing code is leak-checked by the C tests.
set -u
out=$(ASAN_OPTIONS=detect_leaks=0 "$VKLLM_BIN" devices 2>&1)
rc=$?
echo "$out"
if [ $rc -ne 0 ]; then
  if echo "$out" | grep -q "no Vulkan loader\|no Vulkan driver" && [ -z "${CI:-}" ]; then
    echo "*** SKIP: no Vulkan ***"; exit 0
  fi
  echo "FAIL: vkllm devices exited $rc"; exit 1
fi
if echo "$out" | grep -q "^no Vulkan devices"; then
  [ -n "${CI:-}" ] && { echo "FAIL: CI must have lavapipe"; exit 1; }
  echo "*** SKIP: no Vulkan device ***"; exit 0
fi
for field in "device 0:" "driver:" "api version:" "heap 0:" "subgroup size:" "max storage range:" "shared memory:" "features:"; do
  echo "$out" | grep -q "$field" || { echo "FAIL: no '$field' line"; exit 1; }
done
ASAN_OPTIONS=detect_leaks=0 "$VKLLM_BIN" devices --bogus 2>/dev/null && { echo "FAIL: bad option accepted"; exit 1; }
echo OK
