// lifeline-kfake serves franz-go's in-memory Kafka implementation (kfake) on
// 127.0.0.1, so lifeline can be tried against a Kafka-compatible broker that
// is not Apache Kafka. scripts/kfake builds and runs it; see docs/COMPATIBILITY.md.
//
// --deviate makes it misbehave the way other platforms were measured to
// (issue 14, Tansu 0.6), so lifeline's refusals can be tested on a real
// network broker:
//
//	list-offsets-end     ListOffsets(latest) lists one offset short of the end
//	no-end-txn           ApiVersions leaves out EndTxn
//	configs-as-defaults  DescribeConfigs reports every topic config at its default
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

const (
	keyListOffsets     = 2
	keyEndTxn          = 26
	keyDescribeConfigs = 32
	resourceTopic      = 2
	sourceDefault      = 5 // DescribeConfigs: DEFAULT_CONFIG
	errUnknownTopic    = 3
)

// What an Apache Kafka 4.1 broker reports for a topic nobody configured.
var topicDefaults = []struct{ name, value string }{
	{"cleanup.policy", "delete"},
	{"retention.ms", "604800000"},
	{"retention.bytes", "-1"},
	{"delete.retention.ms", "86400000"},
	{"min.compaction.lag.ms", "0"},
	{"max.compaction.lag.ms", "9223372036854775807"},
	{"message.timestamp.type", "CreateTime"},
	{"max.message.bytes", "1048588"},
	{"segment.bytes", "1073741824"},
	{"segment.ms", "604800000"},
}

func main() {
	port := flag.Int("port", 15192, "port of the first broker; the others follow it")
	brokers := flag.Int("brokers", 1, "number of brokers")
	deviate := flag.String("deviate", "", "comma-separated deviations: list-offsets-end, no-end-txn, configs-as-defaults")
	flag.Parse()
	if *brokers < 1 || *port < 1 || *port+*brokers > 65536 {
		fmt.Fprintf(os.Stderr, "lifeline-kfake: bad --port %d / --brokers %d\n", *port, *brokers)
		os.Exit(2)
	}
	deviations := map[string]bool{}
	for _, d := range strings.Split(*deviate, ",") {
		switch d {
		case "":
		case "list-offsets-end", "no-end-txn", "configs-as-defaults":
			deviations[d] = true
		default:
			fmt.Fprintf(os.Stderr, "lifeline-kfake: unknown deviation %q (list-offsets-end, no-end-txn, configs-as-defaults)\n", d)
			os.Exit(2)
		}
	}
	ports := make([]int, *brokers)
	for i := range ports {
		ports[i] = *port + i
	}
	// No auto-creation: like the Apache Kafka test clusters, a topic exists
	// only once someone creates it.
	opts := []kfake.Opt{kfake.NumBrokers(*brokers), kfake.Ports(ports...)}
	if deviations["no-end-txn"] {
		versions := kversion.Stable()
		versions.SetMaxKeyVersion(keyEndTxn, -1)
		opts = append(opts, kfake.MaxVersions(versions))
	}
	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		fmt.Fprintf(os.Stderr, "lifeline-kfake: %v\n", err)
		os.Exit(1)
	}
	if deviations["list-offsets-end"] {
		cluster.ControlKey(keyListOffsets, func(r kmsg.Request) (kmsg.Response, error, bool) {
			cluster.KeepControl()
			return listOneShort(cluster, r.(*kmsg.ListOffsetsRequest))
		})
	}
	if deviations["configs-as-defaults"] {
		cluster.ControlKey(keyDescribeConfigs, func(r kmsg.Request) (kmsg.Response, error, bool) {
			cluster.KeepControl()
			return describeAsDefaults(cluster, r.(*kmsg.DescribeConfigsRequest))
		})
	}
	fmt.Printf("lifeline-kfake: serving %v (deviations: %q)\n", cluster.ListenAddrs(), *deviate)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
	cluster.Close()
}

// Answers a request for the latest offsets with the end minus one (where the
// log is not empty), as a broker that lists the newest batch's first offset
// + 1 does after one-record batches. Other requests are left to kfake.
func listOneShort(c *kfake.Cluster, req *kmsg.ListOffsetsRequest) (kmsg.Response, error, bool) {
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			if p.Timestamp != -1 {
				return nil, nil, false
			}
		}
	}
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	for _, t := range req.Topics {
		rt := kmsg.NewListOffsetsResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewListOffsetsResponseTopicPartition()
			rp.Partition = p.Partition
			rp.Timestamp = -1
			info := c.PartitionInfo(t.Topic, p.Partition)
			if info == nil {
				rp.ErrorCode = errUnknownTopic
			} else {
				end := info.HighWatermark
				if req.IsolationLevel == 1 {
					end = info.LastStableOffset
				}
				if end > info.LogStartOffset {
					end--
				}
				rp.Offset = end
				rp.LeaderEpoch = info.Epoch
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil, true
}

// Reports every config of a topic at Apache Kafka's default, whatever the
// topic was created with. Broker resources are left to kfake.
func describeAsDefaults(c *kfake.Cluster, req *kmsg.DescribeConfigsRequest) (kmsg.Response, error, bool) {
	for _, r := range req.Resources {
		if r.ResourceType != resourceTopic {
			return nil, nil, false
		}
	}
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	for _, r := range req.Resources {
		rr := kmsg.NewDescribeConfigsResponseResource()
		rr.ResourceType = r.ResourceType
		rr.ResourceName = r.ResourceName
		if c.TopicInfo(r.ResourceName) == nil {
			rr.ErrorCode = errUnknownTopic
			resp.Resources = append(resp.Resources, rr)
			continue
		}
		wanted := map[string]bool{}
		for _, n := range r.ConfigNames {
			wanted[n] = true
		}
		for _, d := range topicDefaults {
			if len(wanted) > 0 && !wanted[d.name] {
				continue
			}
			rc := kmsg.NewDescribeConfigsResponseResourceConfig()
			rc.Name = d.name
			value := d.value
			rc.Value = &value
			rc.IsDefault = true
			rc.Source = sourceDefault
			rr.Configs = append(rr.Configs, rc)
		}
		resp.Resources = append(resp.Resources, rr)
	}
	return resp, nil, true
}
