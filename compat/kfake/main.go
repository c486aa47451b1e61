// lifeline-kfake serves franz-go's in-memory Kafka implementation (kfake) on
// 127.0.0.1, so lifeline can be tried against a Kafka-compatible broker that
// is not Apache Kafka. scripts/kfake builds and runs it; see docs/COMPATIBILITY.md.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	port := flag.Int("port", 15192, "port of the first broker; the others follow it")
	brokers := flag.Int("brokers", 1, "number of brokers")
	flag.Parse()
	if *brokers < 1 || *port < 1 || *port+*brokers > 65536 {
		fmt.Fprintf(os.Stderr, "lifeline-kfake: bad --port %d / --brokers %d\n", *port, *brokers)
		os.Exit(2)
	}
	ports := make([]int, *brokers)
	for i := range ports {
		ports[i] = *port + i
	}
	// No auto-creation: like the Apache Kafka test clusters, a topic exists
	// only once someone creates it.
	cluster, err := kfake.NewCluster(kfake.NumBrokers(*brokers), kfake.Ports(ports...))
	if err != nil {
		fmt.Fprintf(os.Stderr, "lifeline-kfake: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("lifeline-kfake: serving %v\n", cluster.ListenAddrs())
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
	cluster.Close()
}
