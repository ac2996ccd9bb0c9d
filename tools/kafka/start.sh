#!/usr/bin/env bash
# Starts one combined KRaft broker+controller on 127.0.0.1 for blotter's tests
# and demo, and prints its bootstrap address.
#   tools/kafka/start.sh [DIR]     DIR holds config, data, log and pid (default build/kafka)
#   BLOTTER_KAFKA_PORT             broker port (default 9092; the controller uses port+1)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${1:-$HERE/../../build/kafka}
PORT=${BLOTTER_KAFKA_PORT:-9092}
CONTROLLER_PORT=$((PORT + 1))
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
"$HERE/fetch.sh"

if [ -f "$DIR/broker.pid" ] && kill -0 "$(cat "$DIR/broker.pid")" 2>/dev/null; then
  echo "127.0.0.1:$PORT"
  exit 0
fi

CP="$HERE/lib/*"
JAVA_OPTS=(-Xms256m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true
           "-Dlog4j2.configurationFile=$HERE/log4j2.properties")

cat >"$DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$DIR/data
num.partitions=8
auto.create.topics.enable=false
# One node: internal topics with one replica.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS

if [ ! -f "$DIR/data/meta.properties" ]; then
  cluster_id=$(java -cp "$CP" "${JAVA_OPTS[@]}" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)
  java -cp "$CP" "${JAVA_OPTS[@]}" kafka.tools.StorageTool format \
    --config "$DIR/server.properties" --cluster-id "$cluster_id" --standalone >"$DIR/format.log" 2>&1 ||
    { echo "kafka: formatting storage failed; see $DIR/format.log" >&2; exit 1; }
fi

nohup java -cp "$CP" "${JAVA_OPTS[@]}" kafka.Kafka "$DIR/server.properties" \
  >"$DIR/broker.log" 2>&1 </dev/null &
echo $! >"$DIR/broker.pid"

for _ in $(seq 1 120); do
  if ! kill -0 "$(cat "$DIR/broker.pid")" 2>/dev/null; then
    echo "kafka: the broker exited; see $DIR/broker.log" >&2
    tail -20 "$DIR/broker.log" >&2
    exit 1
  fi
  if grep -q "Kafka Server started" "$DIR/broker.log" 2>/dev/null &&
     (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    echo "127.0.0.1:$PORT"
    exit 0
  fi
  sleep 0.5
done
echo "kafka: the broker did not answer within 60 s; see $DIR/broker.log" >&2
exit 1
