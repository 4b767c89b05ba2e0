# tests/lib/pki.sh - a throw-away test PKI made with the openssl command.
# Source it, then: pki_init DIR; mkca NAME KEYTYPE; mkee NAME KEYTYPE CN
# [CA] [SAN]; mkica NAME KEYTYPE CA (an intermediate CA).  Files:
# DIR/NAME.key (PKCS#8), DIR/NAME.crt.  KEYTYPE is rsa (2048 bits),
# rsa4096, p256 or p384.  Certificates live a day or two: tests only.

# pki_init DIR : where the keys and certificates go (mode 0700).
pki_init() {
	PKI=$1
	mkdir -p "$PKI"
	chmod 700 "$PKI"
}

# mkkey NAME rsa|p256|p384 : PKCS#8 private key NAME.key
mkkey() {
	case "$2" in
	rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
		-out "$PKI/$1.key" 2>/dev/null ;;
	rsa4096) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096 \
		-out "$PKI/$1.key" 2>/dev/null ;;
	p256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$PKI/$1.key" 2>/dev/null ;;
	p384) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 \
		-out "$PKI/$1.key" 2>/dev/null ;;
	esac
}

# mkca NAME KEYTYPE : self-signed CA certificate NAME.crt
mkca() {
	mkkey "$1" "$2"
	openssl req -x509 -new -key "$PKI/$1.key" -out "$PKI/$1.crt" -days 2 \
		-subj "/O=racoon2 test/CN=$1" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

# mkica NAME KEYTYPE CA : intermediate CA certificate NAME.crt issued by CA
mkica() {
	local n=$1 ext="$PKI/$1.ext"
	mkkey "$n" "$2"
	printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' >"$ext"
	openssl req -new -key "$PKI/$n.key" -subj "/O=racoon2 test/CN=$n" \
		-out "$PKI/$n.csr" 2>/dev/null &&
	openssl x509 -req -in "$PKI/$n.csr" -CA "$PKI/$3.crt" \
		-CAkey "$PKI/$3.key" -CAcreateserial -days 2 \
		-extfile "$ext" -out "$PKI/$n.crt" 2>/dev/null
}

# mkee NAME KEYTYPE CN [CA] [SAN] : end-entity certificate NAME.crt, issued
# by CA (self-signed when CA is empty).
mkee() {
	local n=$1 kt=$2 cn=$3 ca=${4:-} san=${5:-}
	local ext="$PKI/$n.ext"
	mkkey "$n" "$kt"
	printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n' >"$ext"
	[ -n "$san" ] && printf 'subjectAltName=%s\n' "$san" >>"$ext"
	if [ -n "$ca" ]; then
		openssl req -new -key "$PKI/$n.key" -subj "/O=racoon2 test/CN=$cn" \
			-out "$PKI/$n.csr" 2>/dev/null &&
		openssl x509 -req -in "$PKI/$n.csr" -CA "$PKI/$ca.crt" \
			-CAkey "$PKI/$ca.key" -CAcreateserial -days 1 \
			-extfile "$ext" -out "$PKI/$n.crt" 2>/dev/null
	else
		openssl req -x509 -new -key "$PKI/$n.key" -days 1 \
			-subj "/O=racoon2 test/CN=$cn" -out "$PKI/$n.crt" \
			-addext "basicConstraints=CA:FALSE" \
			${san:+-addext "subjectAltName=$san"} 2>/dev/null
	fi
}
