# Sourced by infra/test.sh and infra/bench.sh: a free loopback port, and waiting
# for a server just started in the background to listen on one.

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_port PORT PID WHAT LOG [TRIES]: 0 once something listens on PORT; 1 (with
# a message naming WHAT and where its LOG is) when PID exits first or nothing
# listens after TRIES × 0.2 s (default 150: 30 s).
wait_port() {
  local port=$1 pid=$2 what=$3 log=$4 tries=${5:-150}
  for _ in $(seq 1 "$tries"); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { echo "$what failed to start; see $log" >&2; return 1; }
    sleep 0.2
  done
  echo "$what did not listen on $port; see $log" >&2
  return 1
}
