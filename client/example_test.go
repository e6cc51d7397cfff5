package client_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/shelf-kv/shelf/client"
	"github.com/shelf-kv/shelf/internal/freeport"
	"github.com/shelf-kv/shelf/server"
)

// Example writes a key, reads it back and updates it only if nobody
// changed it in between (a compare-and-swap with Txn). It starts a
// one-member cluster in-process; against a real cluster, pass the
// members' client URLs instead.
func Example() {
	dir, err := os.MkdirTemp("", "shelf-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	peer, clientURL := "http://"+freeAddr(), "http://"+freeAddr()
	m, err := server.New(server.Config{Name: "m0", DataDir: dir,
		ListenPeerURLs: []string{peer}, AdvertisePeerURLs: []string{peer},
		ListenClientURLs: []string{clientURL}, AdvertiseClientURLs: []string{clientURL},
		InitialCluster: "m0=" + peer, HeartbeatInterval: 10 * time.Millisecond, ElectionTimeout: 100 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	if err := m.Start(); err != nil {
		log.Fatal(err)
	}
	defer m.Stop()

	c, err := client.New(client.Config{Endpoints: []string{clientURL}})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	put, err := c.Put(ctx, "/config/color", "blue")
	if err != nil {
		log.Fatal(err)
	}
	get, err := c.Get(ctx, "/config/", client.WithPrefix())
	if err != nil {
		log.Fatal(err)
	}
	for _, kv := range get.Kvs {
		fmt.Printf("%s = %s (version %d)\n", kv.Key, kv.Value, kv.Version)
	}
	// Swap only if the key is still the one we wrote.
	txn, err := c.Txn(ctx).
		If(client.Compare(client.ModRevision("/config/color"), "=", put.Header.Revision)).
		Then(client.OpPut("/config/color", "green"), client.OpGet("/config/color")).
		Else(client.OpGet("/config/color")).
		Commit()
	if err != nil {
		log.Fatal(err)
	}
	last := txn.Responses[len(txn.Responses)-1].Get.Kvs[0]
	fmt.Printf("swapped: %v, now %s = %s\n", txn.Succeeded, last.Key, last.Value)
	// Output:
	// /config/color = blue (version 1)
	// swapped: true, now /config/color = green
}

// freeAddr is a loopback address that was free a moment ago.
func freeAddr() string {
	p, err := freeport.Get()
	if err != nil {
		log.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", p)
}
