#!/bin/sh
# Installs what erpsync needs to build and test, and nothing when all is there.
# As root it runs apt-get; otherwise it prints the exact command and fails.
set -eu

# With --kafka, also what the tests on a real Apache Kafka need (a JRE and
# Maven to fetch the broker). kafka-python, a Kafka client that is not
# librdkafka, is always there: the tests read make run's Kafka with it.
# The packages come from packaging/debian-packages (scripts/packages.sh),
# the one list the Dockerfile and CI read too.
DEB_PKGS=$("$(dirname "$0")/packages.sh" build test)
PY_MODS="jsonschema:jsonschema pytest:pytest yaml:pyyaml jwt:pyjwt
cryptography:cryptography openapi_spec_validator:openapi-spec-validator
kafka:kafka-python prometheus_client:prometheus-client"
if [ "${1:-}" = "--kafka" ]; then
    # A JRE and Maven from elsewhere (SDKMAN, a vendor's JDK) will do.
    for p in $("$(dirname "$0")/packages.sh" kafka); do
        case $p in
        openjdk-*) command -v java >/dev/null 2>&1 || DEB_PKGS="$DEB_PKGS $p" ;;
        maven) command -v mvn >/dev/null 2>&1 || DEB_PKGS="$DEB_PKGS $p" ;;
        *) DEB_PKGS="$DEB_PKGS $p" ;;
        esac
    done
fi

missing=""
for p in $DEB_PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
        missing="$missing $p"
done
# python3 and curl may come from elsewhere than Debian (pyenv, a custom build).
for tool in python3 curl; do
    if command -v "$tool" >/dev/null 2>&1; then
        missing=$(echo "$missing" | tr ' ' '\n' | grep -vx "$tool" | tr '\n' ' ')
    fi
done
missing=$(echo "$missing" | xargs)

if [ -n "$missing" ]; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "install-deps: installing Debian packages: $missing"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        # shellcheck disable=SC2086
        apt-get install -y -qq --no-install-recommends $missing >/dev/null
    else
        echo "install-deps: missing Debian packages: $missing" >&2
        echo "install-deps: run: sudo apt-get install -y $missing" >&2
        exit 1
    fi
fi

pymissing=""
for pm in $PY_MODS; do
    mod=${pm%%:*}; pkg=${pm#*:}
    python3 -c "import $mod" 2>/dev/null || pymissing="$pymissing $pkg"
done
pymissing=$(echo "$pymissing" | xargs)
if [ -n "$pymissing" ]; then
    echo "install-deps: installing Python packages: $pymissing"
    # shellcheck disable=SC2086
    python3 -m pip install -q $pymissing || {
        echo "install-deps: run: python3 -m pip install $pymissing" >&2
        exit 1
    }
fi
