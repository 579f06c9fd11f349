# Sourced by ./kiln and scripts/test: sets JAVA to a JDK 25+ java, or exits with a clear message.
kiln_java_major() { "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | head -n1; }
kiln_find_jdk() {
  local c
  for c in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-25-jdk-arm64 /usr/lib/jvm/java-25-openjdk-amd64 /usr/lib/jvm/java-25-openjdk-arm64 /usr/lib/jvm/*-25* ; do
    [ -n "$c" ] && [ -x "$c/bin/java" ] || continue
    local v; v=$(kiln_java_major "$c/bin/java")
    if [ -n "$v" ] && [ "${v%%.*}" -ge 25 ] 2>/dev/null; then export JAVA_HOME="$c"; JAVA="$c/bin/java"; return 0; fi
  done
  echo "kiln: error: JDK 25 or newer is needed and none was found (JAVA_HOME=${JAVA_HOME:-unset})." >&2
  echo "  Install one (e.g. Temurin 25 from https://adoptium.net, or 'apt-get install temurin-25-jdk' with the Adoptium repository) and set JAVA_HOME to it." >&2
  exit 1
}
kiln_find_jdk
export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
