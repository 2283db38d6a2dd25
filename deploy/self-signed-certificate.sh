#!/usr/bin/env bash
# A self-signed certificate for trying compose.yaml on this machine; browsers will warn, as they should. Never for
# real use: put your organisation's certificate (or a Let's Encrypt one) in RELAIS_TLS_CERTIFICATE instead.
#
# Usage: bash deploy/self-signed-certificate.sh [DIRECTORY] [HOST ...]
#   writes DIRECTORY/certificate.pem and DIRECTORY/key.pem (default deploy/tls, ignored by git and by Docker),
#   valid 30 days for localhost, 127.0.0.1 and each HOST. Then, in .env:
#   RELAIS_TLS_CERTIFICATE=./deploy/tls/certificate.pem
#   RELAIS_TLS_KEY=./deploy/tls/key.pem
set -euo pipefail

directory="${1:-$(dirname "$0")/tls}"
shift || true
names="DNS:localhost,IP:127.0.0.1"
for host in "$@"; do
    if [[ "$host" =~ ^[0-9.]+$ || "$host" == *:* ]]; then
        names="$names,IP:$host"
    else
        names="$names,DNS:$host"
    fi
done

mkdir -p "$directory"
# The key is readable by its owner alone from the moment it exists.
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
    -subj "/CN=Relais trial (self-signed)" -addext "subjectAltName=$names" \
    -addext "basicConstraints=critical,CA:FALSE" -addext "extendedKeyUsage=serverAuth" \
    -keyout "$directory/key.pem" -out "$directory/certificate.pem"
chmod 644 "$directory/certificate.pem"
echo "$directory/certificate.pem and $directory/key.pem: self-signed, 30 days, for $names"
