#!/usr/bin/env bash
# Checks the system libraries pyrender (headless EGL, Mesa llvmpipe) and bpy need.
# Installs them with apt-get when missing and we are root; otherwise says what to run.
set -euo pipefail
PKGS="libegl1 libegl-mesa0 libgl1 libgl1-mesa-dri libgbm1 libglu1-mesa libxrender1 libxxf86vm1 libxfixes3 libxi6 libxkbcommon0 libsm6"
missing=""
for lib in libEGL.so.1 libGL.so.1 libgbm.so.1 libXrender.so.1 libXxf86vm.so.1 libXfixes.so.3 libXi.so.6 libxkbcommon.so.0 libSM.so.6; do
  ldconfig -p | grep -q "$lib" || missing="$missing $lib"
done
ls /usr/lib/*/dri/swrast_dri.so >/dev/null 2>&1 || ls /usr/lib/*/dri/kms_swrast_dri.so >/dev/null 2>&1 || missing="$missing mesa-dri"
if [ -z "$missing" ]; then exit 0; fi
echo "missing system libraries:$missing" >&2
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $PKGS
else
  echo "install them with: sudo apt-get install -y $PKGS" >&2
  exit 1
fi
