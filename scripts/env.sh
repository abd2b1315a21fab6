# Sourced by the scripts: puts Swift and the util-linux tools on PATH and moves to the package root.
if [[ -x /opt/swift/usr/bin/swift && ":$PATH:" != *":/opt/swift/usr/bin:"* ]]; then
  export PATH="/opt/swift/usr/bin:$PATH"
fi
if [[ ":$PATH:" != *":/usr/sbin:"* ]]; then export PATH="$PATH:/usr/sbin:/sbin"; fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
