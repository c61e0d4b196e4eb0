# shellcheck shell=bash
# Shared set-up for ./membrane and ./test: install missing Debian packages, check the .NET SDK, build incrementally.
# Sourced, not executed. Prints progress on stderr so command output (e.g. -o json) stays clean on stdout.

export MEMBRANE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# Debian 12 packages Membrane needs at build, test and run time (one place; the README lists the same).
MEMBRANE_APT_PACKAGES=(
    clang-14 llvm-14 libbpf-dev bpftool   # BPF programs: compile (clang), headers (libbpf-dev), inspect (bpftool)
    libbpf1 iproute2 nftables iptables    # runtime: libbpf.so.1, netns/veth/tc, routing rules
    kcat curl jq                          # real clients used by the lab, the demo and the tests (jq reads flow JSON)
    procps util-linux                     # sysctl, nsenter
    nodejs                                # kafkajs, a real Kafka client the proxy tests drive
    afl++                                 # coverage-guided fuzzing of the parsers (scripts/fuzz.sh afl)
)
# Packages wanted only when their command is missing (command:package): NodeSource's nodejs bundles npm and conflicts
# with Debian's npm package, Debian's nodejs does not.
MEMBRANE_APT_COMMANDS=(npm:npm)

membrane_progress() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
membrane_fail() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

membrane_missing_packages() {
    local p missing=()
    for p in "${MEMBRANE_APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    for p in "${MEMBRANE_APT_COMMANDS[@]}"; do
        command -v "${p%%:*}" >/dev/null 2>&1 || missing+=("${p#*:}")
    done
    echo "${missing[@]}"
}

membrane_ensure_prereqs() {
    local missing
    missing="$(membrane_missing_packages)"
    if [ -n "$missing" ]; then
        [ "$(id -u)" -eq 0 ] || membrane_fail "missing Debian packages: $missing (run as root, or: sudo apt-get install -y $missing)"
        membrane_progress "Installing prerequisites: $missing"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || membrane_fail "apt-get update failed"
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2 \
            || membrane_fail "apt-get install failed for: $missing"
    fi
    if ! command -v dotnet >/dev/null 2>&1; then
        membrane_fail "the .NET 10 SDK is required and is not in Debian's repositories: install it from https://dot.net (dotnet-install.sh --channel 10.0), then rerun"
    fi
    if ! dotnet --list-sdks 2>/dev/null | grep -q '^10\.'; then
        membrane_fail "the .NET 10 SDK is required (found: $(dotnet --list-sdks | tr '\n' ' '))"
    fi
}

# Build once, then only when a source file changed since the last successful build.
# $1: what to build (project or solution), $2: stamp name.
membrane_build() {
    local target="$1" stamp="$MEMBRANE_ROOT/artifacts/.stamp-$2"
    if [ -f "$stamp" ] && [ -z "$(cd "$MEMBRANE_ROOT" && find src tests bench bpf Directory.Build.props Directory.Packages.props global.json Membrane.slnx \
            -newer "$stamp" \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' -o -name '*.c' -o -name '*.h' -o -name '*.proto' -o -name '*.json' -o -name '*.slnx' -o -name '*.targets' \) \
            -not -path '*/obj/*' -not -path '*/bin/*' -print -quit 2>/dev/null)" ]; then
        return 0
    fi
    membrane_progress "Building Membrane ($2, Release)..."
    mkdir -p "$MEMBRANE_ROOT/artifacts"
    local log="$MEMBRANE_ROOT/artifacts/build-$2.log"
    if ! dotnet build "$MEMBRANE_ROOT/$target" -c Release -nologo -v:q -clp:ErrorsOnly >"$log" 2>&1; then
        grep -E 'error|Error' "$log" | sort -u | head -40 >&2
        membrane_fail "build failed (full log: $log)"
    fi
    touch "$stamp"
}

MEMBRANE_CLI="$MEMBRANE_ROOT/artifacts/bin/Membrane.Cli/release/membrane"
