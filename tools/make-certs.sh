#!/usr/bin/env bash
# Makes a cluster CA and certificates signed by it, with openssl, for greyd's TLS:
#   tools/make-certs.sh DIR NAME=SANS [NAME=SANS ...]
# e.g. tools/make-certs.sh certs node0=IP:10.0.0.1,DNS:grey-0 node1=IP:10.0.0.2 operator=DNS:ops
# writes DIR/ca.pem, DIR/ca.key (keep it offline) and DIR/NAME.pem + DIR/NAME.key for each.
# A node's SANs must cover every address its peers and clients use to reach it. An existing
# DIR/ca.pem is reused, so more certificates can be added later.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 DIR NAME=SANS [NAME=SANS ...]" >&2; exit 2; }
dir=$1; shift
mkdir -p "$dir"
if [ ! -f "$dir/ca.pem" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=Grey cluster CA" -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
fi
for spec in "$@"; do
  name=${spec%%=*}; sans=${spec#*=}
  [ "$name" != "$spec" ] && [ -n "$sans" ] || { echo "$0: '$spec' is not NAME=SANS (e.g. node0=IP:127.0.0.1)" >&2; exit 2; }
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$name" \
    -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 825 \
    -extfile <(printf "subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n" "$sans") -out "$dir/$name.pem" 2>/dev/null
  rm -f "$dir/$name.csr"
done
echo "certificates in $dir: ca.pem $(for spec in "$@"; do printf '%s.pem ' "${spec%%=*}"; done)"
