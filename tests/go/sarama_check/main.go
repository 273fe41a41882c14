// sarama_check: what a Go user of Sarama does against a kafka_zk cluster, for one Sarama `Version`.
//
// Sarama (1.22, Debian's golang-github-shopify-sarama-dev) does not negotiate with ApiVersions: it picks
// every request version from the Kafka version it is told, like the Java client of its day. So each
// -version run proves the broker accepts that Kafka release's request versions. The program:
//
//  1. creates the topic with ClusterAdmin (CreateTopics to the controller);
//  2. writes -records keyed records with a SyncProducer, acks=all (WaitForAll) and snappy compression;
//  3. reads them back with a ConsumerGroup and checks each record arrives exactly once, with its value.
//
// It prints one JSON line ({"sarama_version": ..., "produced": n, "consumed": n, ...}) and exits 0, or prints
// "FAIL <step>: <error>" on stderr and exits 1. Build in GOPATH mode, no network:
//
//	GOPATH=/usr/share/gocode GO111MODULE=off go build -o sarama_check ./tests/go/sarama_check
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/Shopify/sarama"
)

func fail(step string, err error) {
	fmt.Fprintf(os.Stderr, "FAIL %s: %v\n", step, err)
	os.Exit(1)
}

// collector is the ConsumerGroupHandler: it records every (key, value) it is given and marks it consumed.
type collector struct {
	mu       sync.Mutex
	seen     map[string]string
	dups     int
	wrong    int
	want     map[string]string
	complete chan struct{}
	once     sync.Once
}

func (c *collector) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (c *collector) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (c *collector) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for msg := range claim.Messages() {
		c.mu.Lock()
		key, value := string(msg.Key), string(msg.Value)
		if _, ok := c.seen[key]; ok {
			c.dups++
		}
		if c.want[key] != value {
			c.wrong++
		}
		c.seen[key] = value
		if len(c.seen) == len(c.want) {
			c.once.Do(func() { close(c.complete) })
		}
		c.mu.Unlock()
		sess.MarkMessage(msg, "")
	}
	return nil
}

func parseVersion(text string) sarama.KafkaVersion {
	if text == "newest" {
		return sarama.MaxVersion
	}
	v, err := sarama.ParseKafkaVersion(text)
	if err != nil {
		fail("arguments", fmt.Errorf("-version %q: %v (e.g. 0.10.2.0, 2.1.0, or newest)", text, err))
	}
	return v
}

func main() {
	brokers := flag.String("brokers", "127.0.0.1:9092", "bootstrap brokers, comma separated")
	topic := flag.String("topic", "sarama-check", "topic to create, write and read")
	group := flag.String("group", "sarama-check", "consumer group id")
	versionText := flag.String("version", "newest", "Sarama's Config.Version: a Kafka version, or newest")
	records := flag.Int("records", 300, "number of keyed records to write")
	partitions := flag.Int("partitions", 3, "partitions of the topic")
	replication := flag.Int("replication", 3, "replication factor of the topic")
	timeout := flag.Duration("timeout", 60*time.Second, "give up consuming after this long")
	flag.Parse()
	addrs := strings.Split(*brokers, ",")
	version := parseVersion(*versionText)

	config := sarama.NewConfig()
	config.Version = version
	config.ClientID = "sarama-check"
	config.Admin.Timeout = 30 * time.Second
	config.Producer.RequiredAcks = sarama.WaitForAll
	config.Producer.Compression = sarama.CompressionSnappy
	config.Producer.Return.Successes = true
	config.Producer.Retry.Max = 10
	config.Producer.Retry.Backoff = 250 * time.Millisecond
	config.Metadata.Retry.Max = 20
	config.Metadata.Retry.Backoff = 250 * time.Millisecond
	config.Consumer.Offsets.Initial = sarama.OffsetOldest
	config.Consumer.Return.Errors = true

	admin, err := sarama.NewClusterAdmin(addrs, config)
	if err != nil {
		fail("cluster admin", err)
	}
	detail := &sarama.TopicDetail{NumPartitions: int32(*partitions), ReplicationFactor: int16(*replication)}
	if err := admin.CreateTopic(*topic, detail, false); err != nil {
		fail("create topic", err)
	}
	admin.Close()

	want := make(map[string]string, *records)
	messages := make([]*sarama.ProducerMessage, 0, *records)
	for i := 0; i < *records; i++ {
		key, value := fmt.Sprintf("key-%05d", i), fmt.Sprintf("value-%05d-%s", i, strings.Repeat("s", i%50))
		want[key] = value
		messages = append(messages, &sarama.ProducerMessage{
			Topic: *topic, Key: sarama.StringEncoder(key), Value: sarama.StringEncoder(value)})
	}
	producer, err := sarama.NewSyncProducer(addrs, config)
	if err != nil {
		fail("sync producer", err)
	}
	// The new topic's leaders may not be known for a moment: SendMessages retries (Producer.Retry).
	if err := producer.SendMessages(messages); err != nil {
		fail("produce", err)
	}
	producer.Close()

	consumerGroup, err := sarama.NewConsumerGroup(addrs, *group, config)
	if err != nil {
		fail("consumer group", err)
	}
	handler := &collector{seen: map[string]string{}, want: want, complete: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	var consumeErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if err := consumerGroup.Consume(ctx, []string{*topic}, handler); err != nil && ctx.Err() == nil {
				consumeErr = err
				return
			}
		}
	}()
	var groupErrors []string
	go func() {
		for err := range consumerGroup.Errors() {
			handler.mu.Lock()
			groupErrors = append(groupErrors, err.Error())
			handler.mu.Unlock()
		}
	}()
	select {
	case <-handler.complete:
		time.Sleep(2 * time.Second) // a duplicate delivered late would show up here
	case <-done:
	case <-ctx.Done():
	}
	cancel()
	<-done
	if err := consumerGroup.Close(); err != nil {
		fail("close consumer group", err)
	}
	if consumeErr != nil {
		fail("consume", consumeErr)
	}
	handler.mu.Lock()
	defer handler.mu.Unlock()
	out, _ := json.Marshal(map[string]interface{}{
		"sarama_version": version.String(), "produced": len(want), "consumed": len(handler.seen),
		"duplicates": handler.dups, "wrong_values": handler.wrong, "group_errors": groupErrors,
	})
	fmt.Println(string(out))
	if len(handler.seen) != len(want) || handler.dups != 0 || handler.wrong != 0 {
		fail("consume", fmt.Errorf("read %d of %d records once, %d duplicates, %d wrong values",
			len(handler.seen), len(want), handler.dups, handler.wrong))
	}
}
