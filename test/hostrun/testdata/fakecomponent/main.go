// Command fake-component stands for a component of a chart in the tests of
// package hostrun: it reports who it is authenticated as, writes its PID
// into a file, serves /readyz, and exits on SIGTERM or after a while.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	readyz := flag.String("readyz-address", "", "address to serve /readyz on; empty serves nothing")
	file := flag.String("write-file", "", "file to write the process ID into; empty writes nothing")
	whoami := flag.Bool("whoami", false, "print the identity the KUBECONFIG authenticates as")
	exitAfter := flag.Duration("exit-after", 0, "exit after this long; 0 waits for SIGTERM")
	exitCode := flag.Int("exit-code", 0, "exit code when exiting after --exit-after")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *readyz, *file, *whoami); err != nil {
		fmt.Fprintln(os.Stderr, "fake-component:", err)
		os.Exit(1)
	}
	fmt.Println("started with args", os.Args[1:])
	if *exitAfter > 0 {
		select {
		case <-ctx.Done():
		case <-time.After(*exitAfter):
			os.Exit(*exitCode)
		}
	}
	<-ctx.Done()
	fmt.Println("terminated by SIGTERM")
}

func run(ctx context.Context, readyz, file string, whoami bool) error {
	if whoami {
		if err := printIdentity(ctx); err != nil {
			return err
		}
	}
	if file != "" {
		if err := os.WriteFile(file, []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
			return fmt.Errorf("failed to write %s: %w", file, err)
		}
	}
	if readyz != "" {
		return serveReadyz(ctx, readyz)
	}
	return nil
}

func printIdentity(ctx context.Context) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	if err != nil {
		return fmt.Errorf("failed to load KUBECONFIG: %w", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("failed to create client: %w", err)
	}
	review, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("failed to review self: %w", err)
	}
	fmt.Println("authenticated as", review.Status.UserInfo.Username)
	return nil
}

func serveReadyz(ctx context.Context, addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("failed to listen on %s: %w", addr, err)
	}
	fmt.Println("serving /readyz on", l.Addr())
	mux := http.NewServeMux()
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "fake-component:", err)
		}
	}()
	context.AfterFunc(ctx, func() { _ = srv.Close() })
	return nil
}
