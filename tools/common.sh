# Shared by tools/demo and tools/test; source it, do not run it.
# Bash only.  Sets TROUPE_ROOT and TROUPE_JOBS and cds to the repository root.

TROUPE_PACKAGES=(meson ninja-build pkg-config gcc g++ liburcu-dev
	libmimalloc-dev libcmocka-dev libbenchmark-dev libtbb-dev libcaf-dev)

TROUPE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$TROUPE_ROOT" || exit 1
TROUPE_JOBS=$(nproc 2>/dev/null || echo 2)

# Installs the Debian packages the build needs.  Nothing to do (no apt at
# all) when dpkg already lists them all.  Root installs what is missing;
# anyone else gets the command to run.  Returns non-zero when packages are
# still missing.
troupe_install_deps()
{
	local missing=() p status
	if ! command -v dpkg-query >/dev/null 2>&1; then
		echo "troupe: no dpkg-query; not a Debian system." >&2
		echo "troupe: install by hand: ${TROUPE_PACKAGES[*]}" >&2
		return 0
	fi
	for p in "${TROUPE_PACKAGES[@]}"; do
		status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)
		[ "$status" = installed ] || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0

	if [ "$(id -u)" -ne 0 ]; then
		echo "troupe: missing packages; run this, then try again:" >&2
		echo "sudo apt-get install -y ${missing[*]}"
		return 1
	fi
	echo "troupe: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update && apt-get install -y "${missing[@]}"
}

# troupe_configure DIR [meson options...]: sets up DIR, or reconfigures it
# with these options when it is already a build directory.
troupe_configure()
{
	local dir=$1
	shift
	if [ -f "$dir/meson-private/coredata.dat" ]; then
		meson setup --reconfigure "$dir" "$@"
	else
		meson setup "$dir" "$@"
	fi
}

# troupe_compile DIR: builds everything in DIR with one job per CPU.
troupe_compile()
{
	ninja -C "$1" -j "$TROUPE_JOBS"
}
