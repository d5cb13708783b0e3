# Shared helpers for the CGI scripts (sourced). Globbing is off so that
# query strings are never expanded as patterns.
set -f
cd / # httpd runs CGI in /www/cgi-bin; keep relative names (e.g. mount sources) away from it

# qparam NAME: print the value of NAME in QUERY_STRING; fail if absent.
qparam() {
	_ifs=$IFS
	IFS='&'
	for _pair in $QUERY_STRING; do
		case "$_pair" in
			"$1="*) IFS=$_ifs; printf '%s' "${_pair#*=}"; return 0 ;;
		esac
	done
	IFS=$_ifs
	return 1
}

is_uint() { case "$1" in "" | *[!0-9]*) return 1 ;; *) [ ${#1} -le 15 ] ;; esac; }

# respond STATUS BODY: a JSON response.
respond() {
	printf 'Status: %s\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n\r\n%s\n' "$1" "$2"
}

fail() { respond "$1" "{\"error\":\"$2\"}"; exit 0; }
