#!/usr/bin/env bash
# bench/run.sh: what basic auth costs behind the nginx that promsetup generates, and what
# generating a bundle costs next to doing it by hand. Everything runs side by side, in one run,
# on this machine, on loopback addresses and free ports only.
#
# Part A: authenticated throughput of https://127.0.0.1:PORT/prometheus/-/healthy through the
#   generated nginx.conf, with wrk (2 threads, 4 keep-alive connections, DURATION seconds per row):
#     - the same proxy without auth (the --auth nginx bundle, auth_basic lines removed): baseline
#     - --auth nginx at bcrypt cost 4, 5 (the default), 8, 10, 12: nginx hashes on every request
#     - --auth prometheus at cost 10 and 12 (its default): Prometheus checks, and caches, the result
#     - the baseline again, last, to show how much the machine drifted during the run
#   and, for the upstream keepalive (FACTS 9), side by side:
#     - Prometheus direct (plain HTTP on its loopback port, no nginx)
#     - the proxy without auth as generated before keepalive (proxy_pass to the address, no
#       upstream block, nginx's default "Connection: close" to Prometheus)
#   Each row gets its own bundle, its own nginx (`nginx -c ... -g "daemon off;"`) and its own
#   Prometheus (flags from prometheus.flags, a fresh TSDB), and is checked before it is measured:
#   the right password gives 200 "Healthy", a wrong one and none give 401 (no auth: none gives
#   200). The only change made to the generated nginx.conf in every row, the baseline included,
#   is `access_log` pointing into the temporary folder instead of /var/log/nginx/access.log.
# Part B: hyperfine (--warmup 3, RUNS runs): `promsetup --non-interactive ... --force` (whole
#   bundle: nginx.conf, bcrypt hash, ECDSA P-256 certificate) against `htpasswd -nbB` + `openssl
#   req -x509` at the same bcrypt cost, at cost 5 and at cost 12; every run writes into an empty
#   folder. At cost 12 also, for information, the --auth prometheus bundle (two hashes).
# Part C: the right password's latency while one client address floods wrong passwords (wrk,
#   FLOOD_CONNECTIONS connections), --auth nginx at the default cost 5: before (--no-rate-limit,
#   the configuration without limit_req) and after (the default limit_req). The flood comes from
#   127.0.0.1; the user's FLOOD_SAMPLES requests come one after another (at most 10/s) over one
#   keep-alive connection from 127.0.0.2 (curl --interface), as a separate client address; first
#   quietly, then during the flood.
# Then a "targets" section with PASS/FAIL computed from the numbers above.
#
# Run from the repository root, as root (nginx's workers run as www-data):
#     bench/run.sh                         # about 3 minutes on 2 cores, plus the build
#     DURATION=5 RUNS=10 bench/run.sh      # shorter
#     PARTS=C PROMSETUP_BIN=target/debug/promsetup bench/run.sh   # only Part C (nginx's numbers
#                                          # do not depend on how promsetup was built), no build
#     ONLY=keepalive bench/run.sh          # only direct / no keepalive / keepalive, no Part B
# Needs (Debian 12): apt-get install nginx-light prometheus wrk hyperfine apache2-utils openssl
# curl iproute2, and cargo. Builds target/release/promsetup itself. Progress goes to stderr, the
# report to stdout.

set -euo pipefail

DURATION=${DURATION:-10}          # seconds of wrk per Part A row
RUNS=${RUNS:-20}                  # hyperfine runs per command in Part B
THREADS=2
CONNECTIONS=4
WRK_TIMEOUT=30s                   # at cost 12 a request can wait > 2 s (wrk's default) behind 3 others
USERNAME=admin
PASSWORD='bench-Kx7pQ2vR9mW4tZ8nL3sB6yH1'   # 30 characters; bcrypt time does not depend on it
NGINX_COSTS=(4 5 8 10 12)
PROMETHEUS_COSTS=(10 12)
DEFAULT_NGINX_COST=5
PARTS=${PARTS:-ABC}               # which parts to run
FLOOD_CONNECTIONS=${FLOOD_CONNECTIONS:-64}
FLOOD_SAMPLES=${FLOOD_SAMPLES:-100}   # right-password requests measured per Part C row

REPO=$(cd "$(dirname "$0")/.." && pwd)
BIN=${PROMSETUP_BIN:-$REPO/target/release/promsetup}
WORK=""
PIDS=()          # processes this script started and has not stopped yet
USED_PORTS=" "

log() { printf '# %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# --- setup and teardown ------------------------------------------------------------------------

check_tools() {
    local missing=() packages=() pair tool package
    for pair in nginx:nginx-light prometheus:prometheus wrk:wrk hyperfine:hyperfine \
        htpasswd:apache2-utils openssl:openssl curl:curl ss:iproute2 base64:coreutils; do
        tool=${pair%%:*} package=${pair#*:}
        if ! command -v "$tool" >/dev/null 2>&1; then
            missing+=("$tool") packages+=("$package")
        fi
    done
    if ((${#missing[@]})); then
        die "missing ${missing[*]}; install with: sudo apt-get install ${packages[*]}"
    fi
    command -v cargo >/dev/null 2>&1 || die "missing cargo; install Rust from https://rustup.rs"
    [[ $(id -u) == 0 ]] || log "warning: not root; nginx ignores 'user www-data' and runs its workers as $(id -un)"
}

cleanup() {
    local pid
    trap '' INT TERM   # a second Ctrl-C (or timeout's signal to the group) must not cut this short
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    PIDS=()
    [[ -n $WORK && -d $WORK ]] && rm -rf "$WORK"
    return 0
}

# forget_pid PID: a process this script started has ended.
forget_pid() {
    local kept=() p
    for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || kept+=("$p"); done
    PIDS=("${kept[@]+"${kept[@]}"}")
}

# stop_pid PID: stop one process this script started.
stop_pid() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    forget_pid "$1"
}

# free_port VAR: a loopback TCP port nobody uses, below the ephemeral range (32768-60999).
free_port() {
    local candidate
    while :; do
        candidate=$((20000 + RANDOM % 12000))
        [[ $USED_PORTS == *" $candidate "* ]] && continue
        ss -Htan | awk '{print $4}' | grep -q ":$candidate\$" && continue
        USED_PORTS+="$candidate "
        printf -v "$1" '%s' "$candidate"
        return
    done
}

# wait_until SECONDS COMMAND...: retry COMMAND every 0.1 s until it succeeds.
wait_until() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

print_machine() {
    echo "== machine"
    echo "date:       $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "nproc:      $(nproc)"
    echo "cpu:        $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
    echo "kernel:     $(uname -r)"
    echo "nginx:      $(nginx -v 2>&1)"
    echo "prometheus: $(prometheus --version 2>&1 | head -n 1)"
    echo "openssl:    $(openssl version)"
    echo "wrk:        $(wrk -v 2>&1 | head -n 1 || true)"
    echo "hyperfine:  $(hyperfine --version)"
    echo "htpasswd:   $(dpkg-query -W -f '${Package} ${Version}' apache2-utils 2>/dev/null || echo '?')"
    echo "promsetup:  $("$BIN" --version)"
    echo "load:       $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min averages at the start)"
    if awk -v l="$(cut -d' ' -f1 /proc/loadavg)" -v n="$(nproc)" 'BEGIN {exit !(l > n / 2)}'; then
        echo "warning:    this machine is busy; other processes share the cores with the benchmark"
    fi
    echo
}

# --- Part A: one row = one bundle, one nginx, one Prometheus -----------------------------------

# make_bundle DIR AUTH COST PORT UPSTREAM_PORT [EXTRA...]. Part A measures hashing throughput
# from one client address, which the default rate limit would answer with 429: its rows pass
# --no-rate-limit; Part C measures with and without it.
make_bundle() {
    local dir=$1 auth=$2 cost=$3 port=$4 upstream=$5
    shift 5
    printf '%s\n' "$PASSWORD" | "$BIN" --non-interactive --domain 127.0.0.1 --bind 127.0.0.1 \
        --port "$port" --http-port 0 --upstream "127.0.0.1:$upstream" --username "$USERNAME" \
        --auth "$auth" --bcrypt-cost "$cost" --out "$dir" --conf-dir "$dir" \
        --nginx-layout full --log-dir "$dir" --prometheus-dir "$dir" --password-stdin "$@" >"$dir.promsetup.log" 2>&1 \
        || { cat "$dir.promsetup.log" >&2; die "promsetup failed for $dir"; }
}

# nginx_conf DIR NOAUTH UPSTREAM_PORT: a copy of the generated nginx.conf that logs into DIR;
# with NOAUTH=1 also without its auth_basic lines; NOAUTH=2 also without upstream keepalive
# (proxy_pass to the address, no empty Connection header: nginx then sends "Connection: close",
# as the configuration generated before the upstream block did). Prints the copy's path.
nginx_conf() {
    local dir=$1 noauth=$2 upstream=$3 conf=$1/nginx.bench.conf
    sed "s|^http {\$|http {\n    access_log $dir/access.log;  # bench/run.sh: not /var/log/nginx|" \
        "$dir/nginx.conf" >"$conf"
    grep -q "access_log $dir/access.log" "$conf" || die "could not redirect access_log in $conf"
    if [[ $noauth != 0 ]]; then
        # The prefix's location and each refused one (they ask for the password before 403).
        grep -q '^[[:space:]]*auth_basic_user_file' "$conf" \
            || die "expected auth_basic and auth_basic_user_file in $dir/nginx.conf"
        sed -i '/^[[:space:]]*auth_basic/d' "$conf"
    fi
    if [[ $noauth == 2 ]]; then
        grep -q 'proxy_pass http://promsetup_prometheus/;' "$conf" \
            || die "expected proxy_pass to the upstream block in $dir/nginx.conf"
        sed -i -e "s|proxy_pass http://promsetup_prometheus/;|proxy_pass http://127.0.0.1:$upstream/;|" \
            -e '/proxy_set_header Connection "";/d' "$conf"
    fi
    printf '%s\n' "$conf"
}

start_prometheus() {   # DIR AUTH UPSTREAM_PORT; sets PROM_PID
    local dir=$1 auth=$2 upstream=$3 flags
    {
        echo "# bench/run.sh"
        echo "global:"
        echo "  scrape_interval: 15s"
        if [[ $auth == prometheus ]]; then
            cat "$dir/prometheus-scrape.yml"
        else
            echo "scrape_configs:"
            echo "  - job_name: prometheus"
            echo "    static_configs:"
            echo "      - targets: [\"127.0.0.1:$upstream\"]"
        fi
    } >"$dir/prometheus.yml"
    mapfile -t flags <"$dir/prometheus.flags"
    prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
        "${flags[@]}" >"$dir/prometheus.log" 2>&1 &
    PROM_PID=$!
    PIDS+=("$PROM_PID")
    wait_until 30 prometheus_ready "$upstream" \
        || { tail -n 20 "$dir/prometheus.log" >&2; die "Prometheus did not get ready ($dir)"; }
}

prometheus_ready() {
    [[ $(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH_RIGHT" \
        "http://127.0.0.1:$1/-/ready") == 200 ]]
}

start_nginx() {   # DIR CONF PORT; sets NGINX_PID
    local dir=$1 conf=$2 port=$3
    nginx -t -q -c "$conf" -e "$dir/error.log" -g "pid $dir/nginx.pid;" \
        || { cat "$dir/error.log" >&2; die "nginx -t failed for $conf"; }
    nginx -c "$conf" -e "$dir/error.log" -g "pid $dir/nginx.pid; daemon off;" &
    NGINX_PID=$!
    PIDS+=("$NGINX_PID")
    wait_until 10 ss_listening "$port" \
        || { cat "$dir/error.log" >&2; die "nginx did not start ($conf)"; }
}

ss_listening() { ss -Htln "sport = :$1" | grep -q .; }

# status DIR PORT HEADER: HTTP status of /prometheus/-/healthy, certificate verified.
status() {
    local dir=$1 port=$2 header=$3 args=()
    [[ -n $header ]] && args=(-H "$header")
    curl -sS --cacert "$dir/127.0.0.1.crt" -o "$dir/body" -w '%{http_code}' "${args[@]}" \
        "https://127.0.0.1:$port/prometheus/-/healthy"
}

# verify_row DIR PORT NOAUTH: never benchmark a broken configuration.
verify_row() {
    local dir=$1 port=$2 noauth=$3 right wrong none
    right=$(status "$dir" "$port" "$AUTH_RIGHT")
    grep -q Healthy "$dir/body" || die "$dir: no 'Healthy' from Prometheus: $(cat "$dir/body")"
    wrong=$(status "$dir" "$port" "$AUTH_WRONG")
    none=$(status "$dir" "$port" "")
    log "  check: right password $right, wrong password $wrong, no password $none"
    [[ $right == 200 ]] || die "$dir: right password gave $right, not 200"
    if [[ $noauth != 0 ]]; then
        [[ $none == 200 ]] || die "$dir: no auth, yet no password gave $none"
    else
        [[ $wrong == 401 && $none == 401 ]] || die "$dir: wrong/no password gave $wrong/$none, not 401"
    fi
}

# conns_per_worker PORT: how wrk's connections are spread over nginx's workers, e.g. "2+2".
conns_per_worker() {
    local port=$1 workers w out=""
    workers=$(ps -o pid= --ppid "$NGINX_PID" | tr -d ' ')
    for w in $workers; do
        out+="$(ss -Htnp state established "sport = :$port" | grep -c "pid=$w," || true)+"
    done
    printf '%s\n' "${out%+}"
}

# run_row NAME AUTH COST NOAUTH: measure one row and append it to $ROWS.
run_row() {
    local name=$1 auth=$2 cost=$3 noauth=$4 port upstream dir conf out spread
    local rps p50 p99 non2xx sockerr requests workers load
    free_port port
    free_port upstream
    dir=$WORK/$name
    log "Part A: $name (auth $auth, cost $cost): nginx on 127.0.0.1:$port, Prometheus on 127.0.0.1:$upstream"
    # The baseline is the --auth nginx bundle, its auth_basic lines removed.
    make_bundle "$dir" "${auth/none/nginx}" "$cost" "$port" "$upstream" --no-rate-limit
    start_prometheus "$dir" "$auth" "$upstream"
    local url="https://127.0.0.1:$port/prometheus/-/healthy"
    if [[ $name == direct ]]; then
        # Prometheus alone: nothing in front, plain HTTP on its loopback port.
        url="http://127.0.0.1:$upstream/-/healthy"
        [[ $(curl -sS -o /dev/null -w '%{http_code}' "$url") == 200 ]] || die "direct: no 200 from $url"
        NGINX_PID=$PROM_PID   # conns/worker then counts Prometheus's own connections
        workers=0
    else
        conf=$(nginx_conf "$dir" "$noauth" "$upstream")
        start_nginx "$dir" "$conf" "$port"
        verify_row "$dir" "$port" "$noauth"
        workers=$(ps -o pid= --ppid "$NGINX_PID" | wc -l)
    fi

    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout "$WRK_TIMEOUT" --latency \
        -H "$AUTH_RIGHT" "$url" >"$dir/wrk.out" 2>&1 &
    local wrk_pid=$!
    PIDS+=("$wrk_pid")
    sleep 1
    if [[ $name == direct ]]; then spread="-"; else spread=$(conns_per_worker "$port"); fi
    wait "$wrk_pid" || { cat "$dir/wrk.out" >&2; die "wrk failed ($name)"; }
    forget_pid "$wrk_pid"
    out=$(cat "$dir/wrk.out")

    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    requests=$(awk '/ requests in / {print $1}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    non2xx=$(awk -F': *' '/Non-2xx or 3xx responses/ {print $2}' <<<"$out")
    sockerr=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' <<<"$out")
    [[ -n $rps && -n $requests ]] || { printf '%s\n' "$out" >&2; die "could not read wrk's output ($name)"; }
    log "  $requests requests, $rps requests/s, p50 ${p50:-?}, p99 ${p99:-?}, non-2xx ${non2xx:-0}, connections per worker $spread"

    load=$(cut -d' ' -f1 /proc/loadavg)
    [[ $name == direct ]] || stop_pid "$NGINX_PID"
    stop_pid "$PROM_PID"
    ROWS+=("$name|$auth|$cost|$rps|$requests|${p50:--}|${p99:--}|${non2xx:-0}|${sockerr:-0}|$workers|$spread|$load")
}

part_a() {
    local cost
    ROWS=()
    run_row no-auth none "$DEFAULT_NGINX_COST" 1
    run_row direct none "$DEFAULT_NGINX_COST" 1
    run_row no-keepalive none "$DEFAULT_NGINX_COST" 2
    [[ ${ONLY:-} == keepalive ]] && return
    for cost in "${NGINX_COSTS[@]}"; do run_row "nginx-$cost" nginx "$cost" 0; done
    for cost in "${PROMETHEUS_COSTS[@]}"; do run_row "prometheus-$cost" prometheus "$cost" 0; done
    # The baseline once more: how far the machine drifted during Part A.
    run_row no-auth-again none "$DEFAULT_NGINX_COST" 1
}

# row_field NAME INDEX: a field of a Part A row (1-based, as in ROWS).
row_field() {
    local row
    for row in "${ROWS[@]}"; do
        [[ ${row%%|*} == "$1" ]] && { cut -d'|' -f"$2" <<<"$row"; return; }
    done
}

print_part_a() {
    local base row name auth cost rps requests p50 p99 non2xx sockerr workers spread load mode pct
    base=$(row_field no-auth 4)
    echo "== Part A: GET /prometheus/-/healthy through the generated nginx (TLS, keep-alive)"
    echo "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --timeout $WRK_TIMEOUT --latency, same Authorization header in every row;"
    echo "nginx worker_processes auto; Prometheus, nginx and wrk share the $(nproc) cores. wrk keeps its connections"
    echo "alive; nginx closes one after 1000 requests (keepalive_requests default), so wrk makes a new TLS"
    echo "handshake every 1000 requests per connection."
    echo
    printf '| %-30s | %-11s | %8s | %10s | %9s | %8s | %8s | %7s | %9s | %-12s | %5s |\n' \
        mode "bcrypt cost" requests requests/s "% no-auth" p50 p99 non-2xx "sock errs" "conns/worker" load
    printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' -------------------------------- ------------- \
        ---------: -----------: ----------: ---------: ---------: --------: ----------: -------------- ------:
    for row in "${ROWS[@]}"; do
        IFS='|' read -r name auth cost rps requests p50 p99 non2xx sockerr workers spread load <<<"$row"
        case $auth in
            none) mode="no auth (same proxy)" cost="-" ;;
            nginx) mode="--auth nginx" ;;
            prometheus) mode="--auth prometheus" ;;
        esac
        case $name in
            "nginx-$DEFAULT_NGINX_COST" | prometheus-12) mode+=" (default)" ;;
            direct) mode="Prometheus direct, no nginx" ;;
            no-keepalive) mode="no auth, proxy w/o keepalive" ;;
            no-auth-again) mode="no auth, again at the end" ;;
        esac
        pct=$(awk -v r="$rps" -v b="$base" 'BEGIN {printf "%.2f%%", 100 * r / b}')
        printf '| %-30s | %-11s | %8s | %10s | %9s | %8s | %8s | %7s | %9s | %-12s | %5s |\n' \
            "$mode" "$cost" "$requests" "$rps" "$pct" "$p50" "$p99" "$non2xx" "$sockerr" \
            "$spread ($workers)" "$load"
    done
    echo
    echo "requests: completed in ${DURATION}s. conns/worker: wrk's connections on each nginx worker, sampled 1 s in"
    echo "(number of workers). load: 1-minute load average at the end of the row. % no-auth is against the first"
    echo "no-auth row; the last row repeats it to show how much the machine drifted meanwhile."
    echo
}

# --- Part C: the right password during a wrong-password flood --------------------------------

# user_latencies DIR PORT OUT: FLOOD_SAMPLES right-password requests, one after another over one
# connection from 127.0.0.2, at most 10 a second (a dashboard's pace, under the limit of 20/s:
# faster, the user would be limited by its own requests); writes "status seconds" lines to OUT.
user_latencies() {
    local dir=$1 port=$2 out=$3 args=() i
    for ((i = 0; i < FLOOD_SAMPLES; i++)); do
        args+=(-o /dev/null "https://127.0.0.1:$port/prometheus/-/healthy")
    done
    curl -s --rate 10/s --interface 127.0.0.2 --cacert "$dir/127.0.0.1.crt" -H "$AUTH_RIGHT" \
        -w '%{http_code} %{time_total}\n' "${args[@]}" >"$out" || true
}

# percentile FILE P: the P-th percentile (nearest rank) of the seconds in FILE, in ms.
percentile() {
    awk '{print $2}' "$1" | sort -g | awk -v p="$2" '{v[NR] = $1}
        END {i = int(NR * p / 100 + 0.999); if (i < 1) i = 1; printf "%.1f", 1000 * v[i]}'
}

# flood_row NAME LABEL EXTRA: one bundle at the default cost; the user's latency quietly, then during
# a wrong-password flood. Appends to FLOOD_ROWS.
flood_row() {
    local name=$1 label=$2 extra=$3 port upstream dir conf flood_pid quiet busy out rps non2xx
    free_port port
    free_port upstream
    dir=$WORK/flood-$name
    log "Part C: $name: nginx on 127.0.0.1:$port, flood of $FLOOD_CONNECTIONS connections"
    # shellcheck disable=SC2086 # EXTRA is one flag or none
    make_bundle "$dir" nginx "$DEFAULT_NGINX_COST" "$port" "$upstream" $extra
    conf=$(nginx_conf "$dir" 0)
    start_prometheus "$dir" nginx "$upstream"
    start_nginx "$dir" "$conf" "$port"
    verify_row "$dir" "$port" 0
    quiet=$dir/quiet.txt busy=$dir/busy.txt
    user_latencies "$dir" "$port" "$quiet"
    # Long enough for the slowest case; stopped with SIGINT (wrk then prints its totals).
    wrk -t"$THREADS" -c"$FLOOD_CONNECTIONS" -d600s --timeout "$WRK_TIMEOUT" \
        -H "$AUTH_WRONG" "https://127.0.0.1:$port/prometheus/-/healthy" >"$dir/wrk.out" 2>&1 &
    flood_pid=$!
    PIDS+=("$flood_pid")
    sleep 2
    user_latencies "$dir" "$port" "$busy"
    kill -INT "$flood_pid" 2>/dev/null || true
    wait "$flood_pid" 2>/dev/null || true
    forget_pid "$flood_pid"
    out=$(cat "$dir/wrk.out")
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    non2xx=$(awk -F': *' '/Non-2xx or 3xx responses/ {print $2}' <<<"$out")
    stop_pid "$NGINX_PID"
    stop_pid "$PROM_PID"
    FLOOD_ROWS+=("$label|$(percentile "$quiet" 50)|$(percentile "$quiet" 99)|$(percentile "$busy" 50)|$(percentile "$busy" 99)|$(grep -vc '^200 ' "$busy" || true)|$(wc -l <"$busy")|${rps:-?}|$(grep -c ' 429 ' "$dir/access.log" || true)|$(grep -c ' 401 ' "$dir/access.log" || true)")
}

part_c() {
    FLOOD_ROWS=()
    flood_row before "before (--no-rate-limit)" --no-rate-limit
    flood_row after "after (limit_req, default)" ""
}

print_part_c() {
    local row name qp50 qp99 bp50 bp99 bad n rps r429 r401
    echo "== Part C: right password during a wrong-password flood (--auth nginx, cost $DEFAULT_NGINX_COST)"
    echo "flood: wrk -t$THREADS -c$FLOOD_CONNECTIONS from 127.0.0.1, wrong password; user: $FLOOD_SAMPLES sequential requests (<= 10/s)"
    echo "over one keep-alive connection from 127.0.0.2, GET /prometheus/-/healthy, quietly and during the flood."
    echo
    printf '| %-28s | %9s | %9s | %9s | %9s | %9s | %9s | %9s | %9s |\n' mode "quiet p50" "quiet p99" \
        "flood p50" "flood p99" "user !200" "flood r/s" "flood 429" "flood 401"
    printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' ------------------------------ -----------: -----------: \
        -----------: -----------: -----------: -----------: -----------: -----------:
    for row in "${FLOOD_ROWS[@]}"; do
        IFS='|' read -r name qp50 qp99 bp50 bp99 bad n rps r429 r401 <<<"$row"
        printf '| %-28s | %6s ms | %6s ms | %6s ms | %6s ms | %5s/%-3s | %9s | %9s | %9s |\n' \
            "$name" "$qp50" "$qp99" "$bp50" "$bp99" "$bad" "$n" "$rps" "$r429" "$r401"
    done
    echo
}

# --- Part B: generating a bundle vs htpasswd + openssl -----------------------------------------

part_b() {
    local cost md csv dir=$WORK/generate extra
    mkdir -p "$dir/manual"
    printf '%s\n' "$PASSWORD" >"$dir/password"
    for cost in "$DEFAULT_NGINX_COST" 12; do
        log "Part B: hyperfine at bcrypt cost $cost"
        md=$WORK/hyperfine-$cost.md csv=$WORK/hyperfine-$cost.csv
        extra=()
        if [[ $cost == 12 ]]; then
            # Informational: the --auth prometheus bundle holds two hashes (admin, self-scrape).
            extra=(-n "promsetup --auth prometheus (2 hashes, cost 12)"
                "$BIN --non-interactive --domain example.com --auth prometheus --bcrypt-cost 12 --password-file $dir/password --out $dir/bundle-prometheus --force")
        fi
        # --prepare empties the output first: a re-run into an existing bundle with the same
        # answers keeps its certificate and only verifies the stored hash, which is not what
        # is measured here. hyperfine stops on a command that fails.
        (cd "$dir/manual" && hyperfine --style basic --warmup 3 --runs "$RUNS" \
            --prepare "rm -rf $dir/bundle $dir/bundle-prometheus $dir/manual/k $dir/manual/c" \
            --export-markdown "$md" --export-csv "$csv" \
            -n "promsetup (cost $cost)" \
            "$BIN --non-interactive --domain example.com --bcrypt-cost $cost --password-file $dir/password --out $dir/bundle --force" \
            -n "htpasswd + openssl (cost $cost)" \
            "sh -c 'htpasswd -nbB -C $cost admin pw >/dev/null && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k -out c -subj /CN=example.com -addext subjectAltName=DNS:example.com -days 397 2>/dev/null'" \
            "${extra[@]}" >"$WORK/hyperfine-$cost.log" 2>&1) \
            || { cat "$WORK/hyperfine-$cost.log" >&2; die "hyperfine failed"; }
    done
}

print_part_b() {
    local cost
    echo "== Part B: writing a bundle vs htpasswd + openssl (hyperfine --warmup 3 --runs $RUNS)"
    echo "Each run writes into an empty folder (hyperfine --prepare removes the previous output)."
    for cost in "$DEFAULT_NGINX_COST" 12; do
        echo
        echo "bcrypt cost $cost:"
        echo
        cat "$WORK/hyperfine-$cost.md"
    done
    echo
}

# hyperfine_stats COST NAME: "mean stddev median user system" in seconds, from Part B's CSV
# (columns command,mean,stddev,median,user,system,min,max).
hyperfine_stats() {
    awk -F, -v n="$2" '$1 == n {print $2, $3, $4, $5, $6}' "$WORK/hyperfine-$1.csv"
}

# --- targets ------------------------------------------------------------------------------------

verdict_of() { awk -v v="$1" -v t="$2" 'BEGIN {print (v >= t) ? "PASS" : "FAIL"}'; }

# clean NAME: the row and the baseline got only 2xx answers and no socket errors (a target
# computed from a row that did not is a FAIL whatever its numbers).
clean() {
    [[ $(row_field "$1" 8) == 0 && $(row_field "$1" 9) == 0 &&
        $(row_field no-auth 8) == 0 && $(row_field no-auth 9) == 0 ]]
}

print_targets() {
    local base rps pct cost verdict a b failures=0
    base=$(row_field no-auth 4)
    echo "== targets"
    for cost in "${PROMETHEUS_COSTS[@]}"; do
        rps=$(row_field "prometheus-$cost" 4)
        pct=$(awk -v r="$rps" -v b="$base" 'BEGIN {printf "%.1f", 100 * r / b}')
        verdict=$(verdict_of "$pct" 50)
        clean "prometheus-$cost" || verdict="FAIL"
        [[ $verdict == PASS ]] || failures=$((failures + 1))
        printf '%-4s  --auth prometheus, cost %s >= 50%% of no-auth: %s%% (%s vs %s requests/s)\n' \
            "$verdict" "$cost" "$pct" "$rps" "$base"
    done
    rps=$(row_field "nginx-$DEFAULT_NGINX_COST" 4)
    pct=$(awk -v r="$rps" -v b="$base" 'BEGIN {printf "%.1f", 100 * r / b}')
    verdict=$(verdict_of "$pct" 5)
    clean "nginx-$DEFAULT_NGINX_COST" || verdict="FAIL"
    [[ $verdict == PASS ]] || failures=$((failures + 1))
    printf '%-4s  --auth nginx, default cost %s >= 5%% of no-auth: %s%% (%s vs %s requests/s)\n' \
        "$verdict" "$DEFAULT_NGINX_COST" "$pct" "$rps" "$base"
    for cost in "$DEFAULT_NGINX_COST" 12; do
        a=$(hyperfine_stats "$cost" "promsetup (cost $cost)")
        b=$(hyperfine_stats "$cost" "htpasswd + openssl (cost $cost)")
        [[ -n $a && -n $b ]] || die "no hyperfine results for cost $cost"
        verdict=$(awk -v a="$a" -v b="$b" 'BEGIN {split(a, x, " "); split(b, y, " ");
            print (x[1] <= y[1]) ? "PASS" : "FAIL"}')
        [[ $verdict == PASS ]] || failures=$((failures + 1))
        awk -v v="$verdict" -v c="$cost" -v a="$a" -v b="$b" 'BEGIN {
            split(a, x, " "); split(b, y, " ")
            printf "%-4s  bundle at cost %s no slower than htpasswd + openssl: mean %.1f ms vs %.1f ms (%.2fx)\n",
                v, c, 1000 * x[1], 1000 * y[1], x[1] / y[1]
            printf "      median %.1f vs %.1f ms; CPU (user+system) %.1f vs %.1f ms", 1000 * x[3],
                1000 * y[3], 1000 * (x[4] + x[5]), 1000 * (y[4] + y[5])
            d = x[1] - y[1]; if (d < 0) d = -d
            print (d < x[2] + y[2]) ? "; the means differ by less than the sum of their standard deviations" : ""
        }'
    done
    echo
    echo "$failures target(s) failed."
}

main() {
    check_tools
    if [[ -z ${PROMSETUP_BIN:-} ]]; then
        log "building: cargo build --release --locked"
        (cd "$REPO" && cargo build --release --locked --quiet) || die "cargo build failed"
    fi
    [[ -x $BIN ]] || die "no $BIN after the build"

    WORK=$(mktemp -d /tmp/promsetup-bench.XXXXXX)
    chmod 0755 "$WORK"   # nginx's workers (www-data) read .htpasswd in here
    trap cleanup EXIT
    trap 'exit 130' INT TERM

    AUTH_RIGHT="Authorization: Basic $(printf '%s:%s' "$USERNAME" "$PASSWORD" | base64 -w0)"
    AUTH_WRONG="Authorization: Basic $(printf '%s:%s' "$USERNAME" "wrong-$PASSWORD" | base64 -w0)"

    print_machine
    if [[ ${ONLY:-} == keepalive ]]; then
        part_a
        print_part_a
        return
    fi
    [[ $PARTS == *A* ]] && part_a
    [[ $PARTS == *B* ]] && part_b
    [[ $PARTS == *C* ]] && part_c
    [[ $PARTS == *A* ]] && print_part_a
    [[ $PARTS == *B* ]] && print_part_b
    [[ $PARTS == *C* ]] && print_part_c
    [[ $PARTS == *A* && $PARTS == *B* ]] && print_targets
    return 0
}

main "$@"
