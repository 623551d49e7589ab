#!/usr/bin/env bash
# Make sure the system programs opsloop runs against are present:
# python3-venv (Debian splits it out), Prometheus, promtool, Alertmanager, and the
# PostgreSQL server programs the scale-out tests start (initdb, postgres), and Chromium for
# the console's browser test when OPSLOOP_BROWSER=1.
# Installs them with apt-get on Debian/Ubuntu as root; elsewhere says how to install them.
set -euo pipefail

PYTHON=${PYTHON:-python3}
missing_pkgs=()

if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  ver=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
  missing_pkgs+=("python${ver}-venv")
fi
command -v prometheus >/dev/null 2>&1 || missing_pkgs+=(prometheus)
command -v promtool >/dev/null 2>&1 || missing_pkgs+=(prometheus)
if ! command -v prometheus-alertmanager >/dev/null 2>&1 && ! command -v alertmanager >/dev/null 2>&1; then
  missing_pkgs+=(prometheus-alertmanager)
fi
# Debian keeps initdb and postgres off PATH, under /usr/lib/postgresql/VERSION/bin.
if ! command -v initdb >/dev/null 2>&1 && ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  missing_pkgs+=(postgresql)
fi

# The console's browser test drives Chromium (Playwright, launched with this executable:
# nothing is downloaded); only `make test` asks for it.
if [ "${OPSLOOP_BROWSER:-0}" = 1 ] && ! command -v chromium >/dev/null 2>&1 \
   && ! command -v chromium-browser >/dev/null 2>&1; then
  missing_pkgs+=(chromium)
fi

[ ${#missing_pkgs[@]} -eq 0 ] && exit 0
# de-duplicate
mapfile -t missing_pkgs < <(printf '%s\n' "${missing_pkgs[@]}" | sort -u)

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  echo "opsloop: installing ${missing_pkgs[*]} with apt-get…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing_pkgs[@]}" >/dev/null
  # Debian enables the services; opsloop starts its own instances on free ports instead.
  for svc in prometheus prometheus-alertmanager prometheus-node-exporter postgresql; do
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
      systemctl stop "$svc" || true
    fi
  done
  if command -v pg_lsclusters >/dev/null 2>&1; then  # without systemd the cluster may run
    pg_lsclusters -h 2>/dev/null | while read -r ver name _port status _rest; do
      [ "$status" = online ] && pg_ctlcluster "$ver" "$name" stop || true
    done
  fi
  exit 0
fi

cat >&2 <<MSG
opsloop needs: ${missing_pkgs[*]}
  Debian/Ubuntu:  sudo apt-get install ${missing_pkgs[*]}
  macOS:          brew install prometheus alertmanager postgresql
  Other systems:  download prometheus and alertmanager from https://prometheus.io/download/
                  and put prometheus, promtool and alertmanager on PATH.
Then run the make target again.
MSG
exit 1
