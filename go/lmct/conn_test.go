package lmct

// Tests of the client's side of the protocol against a scripted peer on a
// Unix socket: framing, ids, pipelining, deadlines, refusals, descriptors.
// They need no lmctld; client_test.go runs against a real one.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "lmct.dev/go/lmct/lmctpb"
)

// peerEach listens on a fresh socket and runs SERVE on every connection
// until the test ends.
func peerEach(t *testing.T, serve func(c *net.UnixConn)) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.AcceptUnix()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				serve(c)
			}()
		}
	}()
	t.Cleanup(func() { l.Close(); wg.Wait() })
	return path
}

// peer listens on a fresh socket and runs SERVE on the first connection.
func peer(t *testing.T, serve func(c *net.UnixConn)) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := l.AcceptUnix()
		l.Close()
		if err != nil {
			return
		}
		defer c.Close()
		serve(c)
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return path
}

func readRequest(t *testing.T, r *bufio.Reader) *pb.Request {
	t.Helper()
	var prefix []byte
	for {
		b, err := r.ReadByte()
		if err != nil {
			return nil
		}
		prefix = append(prefix, b)
		if b < 0x80 {
			break
		}
	}
	n, _ := protowire.ConsumeVarint(prefix)
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil
	}
	req := &pb.Request{}
	if err := proto.Unmarshal(body, req); err != nil {
		t.Errorf("peer: request does not decode: %v", err)
		return nil
	}
	return req
}

func writeResponse(c net.Conn, resp *pb.Response) error {
	body, err := proto.Marshal(resp)
	if err != nil {
		return err
	}
	_, err = c.Write(append(protowire.AppendVarint(nil, uint64(len(body))), body...))
	return err
}

func ok(id uint64) *pb.Response {
	return &pb.Response{Id: proto.Uint64(id), Status: &pb.Status{Code: pb.Code_OK.Enum()}}
}

// Answers come back in the reverse order of the requests: each call gets
// its own, matched by id.
func TestPipeliningMatchesAnswersById(t *testing.T) {
	const n = 50
	path := peer(t, func(c *net.UnixConn) {
		r := bufio.NewReader(c)
		var reqs []*pb.Request
		for len(reqs) < n {
			q := readRequest(t, r)
			if q == nil {
				return
			}
			reqs = append(reqs, q)
		}
		for i := len(reqs) - 1; i >= 0; i-- {
			resp := ok(reqs[i].GetId())
			resp.Result = &pb.Response_Detect{Detect: &pb.DetectResult{Name: proto.String("c" + string(rune('A'+reqs[i].GetDetect().GetPid()%26)))}}
			writeResponse(c, resp)
		}
	})
	cl, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(pid int32) {
			defer wg.Done()
			name, err := cl.Detect(context.Background(), pid)
			if err == nil && name != "c"+string(rune('A'+pid%26)) {
				err = fmt.Errorf("pid %d got %q", pid, name)
			}
			errs <- err
		}(int32(i))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// A call whose context ends first returns ctx.Err(); the connection
// stays usable and the late answer goes to nobody.
func TestDeadlineLeavesConnectionUsable(t *testing.T) {
	path := peer(t, func(c *net.UnixConn) {
		r := bufio.NewReader(c)
		first := readRequest(t, r)
		second := readRequest(t, r)
		if first == nil || second == nil {
			return
		}
		writeResponse(c, ok(first.GetId()))
		writeResponse(c, ok(second.GetId()))
	})
	cl, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := cl.Pause(ctx, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("pause past its deadline: %v, want context.DeadlineExceeded", err)
	}
	if err := cl.Resume(context.Background(), "a"); err != nil {
		t.Fatalf("the next call: %v", err)
	}
}

// A refusal is an *Error with the code and lmctld's sentence.
func TestRefusalIsTypedError(t *testing.T) {
	path := peer(t, func(c *net.UnixConn) {
		q := readRequest(t, bufio.NewReader(c))
		if q == nil {
			return
		}
		writeResponse(c, &pb.Response{Id: q.Id, Status: &pb.Status{Code: pb.Code_NOT_FOUND.Enum(), Message: proto.String("x does not exist")}})
	})
	cl, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	err = cl.Destroy(context.Background(), "x", DestroyOptions{})
	var e *Error
	if !errors.As(err, &e) || e.Code != pb.Code_NOT_FOUND || e.Message != "x does not exist" {
		t.Fatalf("got %v, want NOT_FOUND with lmctld's sentence", err)
	}
	if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrAlreadyExists) || CodeOf(err) != pb.Code_NOT_FOUND {
		t.Fatalf("errors.Is / CodeOf do not follow the code: %v", err)
	}
}

// An answer with id 0 (lmctld refusing the connection) ends it: the call
// waiting gets that status, later calls ErrClosed.
func TestIdZeroEndsConnection(t *testing.T) {
	path := peer(t, func(c *net.UnixConn) {
		writeResponse(c, &pb.Response{Id: proto.Uint64(0), Status: &pb.Status{Code: pb.Code_RESOURCE_EXHAUSTED.Enum(), Message: proto.String("too many connections")}})
		time.Sleep(100 * time.Millisecond)
	})
	cl, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	_, err = cl.List(context.Background(), "", ListOptions{})
	if !errors.Is(err, ErrResourceExhausted) {
		t.Fatalf("got %v, want RESOURCE_EXHAUSTED", err)
	}
	if _, err = cl.Version(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("after the end: %v, want ErrClosed", err)
	}
}

// A length prefix over the bound ends the connection without allocating
// it.
func TestOversizedFrameIsRefused(t *testing.T) {
	path := peer(t, func(c *net.UnixConn) {
		if readRequest(t, bufio.NewReader(c)) == nil {
			return
		}
		c.Write(protowire.AppendVarint(nil, 1<<40))
		time.Sleep(100 * time.Millisecond)
	})
	cl, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err = cl.Version(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("got %v, want ErrClosed", err)
	}
}

// Run sends three descriptors with its frame's first byte; its two
// answers (started, ended) come under the run's id.
func TestRunPassesStdioAndWaits(t *testing.T) {
	got := make(chan int, 1)
	path := peer(t, func(c *net.UnixConn) {
		r, nfds, err := readWithFds(c)
		if err != nil {
			return
		}
		got <- nfds
		q := readRequest(t, r)
		if q == nil {
			return
		}
		started := ok(q.GetId())
		started.Result = &pb.Response_Run{Run: &pb.RunResult{Pid: proto.Int32(42)}}
		writeResponse(c, started)
		ended := ok(q.GetId())
		ended.Result = &pb.Response_Run{Run: &pb.RunResult{Pid: proto.Int32(42), Exited: proto.Bool(true), ExitCode: proto.Int32(3)}}
		writeResponse(c, ended)
	})
	cl, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	p, err := cl.Run(context.Background(), "a", []string{"true"}, &RunOptions{Stdio: &Stdio{devnull, devnull, devnull}})
	if err != nil {
		t.Fatal(err)
	}
	if n := <-got; n != 3 {
		t.Errorf("the peer got %d descriptors, want 3", n)
	}
	if p.Pid != 42 {
		t.Errorf("pid %d, want 42", p.Pid)
	}
	res, err := p.Wait(context.Background())
	if err != nil || !res.GetExited() || res.GetExitCode() != 3 {
		t.Fatalf("wait: %v %v, want exited with 3", res, err)
	}
	if _, err := p.Wait(context.Background()); err != nil {
		t.Fatalf("a second wait: %v", err)
	}
}

// readWithFds reads the first bytes a client sent with the descriptors
// that came along (closed here, counted), and returns a reader of the
// whole stream from its start.
func readWithFds(c *net.UnixConn) (*bufio.Reader, int, error) {
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4*8))
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, 0, err
	}
	msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
	nfds := 0
	for _, m := range msgs {
		fds, _ := unix.ParseUnixRights(&m)
		for _, fd := range fds {
			unix.Close(fd)
		}
		nfds += len(fds)
	}
	return bufio.NewReader(&prefixed{b: buf[:n], c: c}), nfds, nil
}

// prefixed reads B, then C.
type prefixed struct {
	b []byte
	c net.Conn
}

func (p *prefixed) Read(out []byte) (int, error) {
	if len(p.b) > 0 {
		n := copy(out, p.b)
		p.b = p.b[n:]
		return n, nil
	}
	return p.c.Read(out)
}

// More answers to one id than its request has do not hold up the other
// calls on the connection.
func TestExtraAnswersDoNotStallOthers(t *testing.T) {
	path := peer(t, func(c *net.UnixConn) {
		r := bufio.NewReader(c)
		first := readRequest(t, r)
		if first == nil {
			return
		}
		for i := 0; i < 50; i++ {
			writeResponse(c, ok(first.GetId()))
		}
		if q := readRequest(t, r); q != nil {
			writeResponse(c, ok(q.GetId()))
		}
	})
	cl, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.Resume(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := cl.Pause(ctx, "a"); err != nil {
		t.Fatalf("the next call after 50 stray answers: %v", err)
	}
}

// A peer that stops reading: a call waiting to write gives up at its
// deadline, as does one waiting behind it.
func TestSendHonoursDeadline(t *testing.T) {
	hold := make(chan struct{})
	path := peer(t, func(c *net.UnixConn) { <-hold })
	defer close(hold)
	cl, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	big := strings.Repeat("x", 900<<10)
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			cl.Create(ctx, "a", &CreateOptions{Labels: map[string]string{"k": big}})
		}()
	}
	wg.Wait()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("calls that could not write took %v to give up", d)
	}
}

// A request over lmctld's 1 MiB bound is refused here, before it could
// end the shared connection.
func TestOversizedRequestRefusedLocally(t *testing.T) {
	path := peer(t, func(c *net.UnixConn) {
		if q := readRequest(t, bufio.NewReader(c)); q != nil {
			writeResponse(c, ok(q.GetId()))
		}
	})
	cl, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	err = cl.Create(context.Background(), "a", &CreateOptions{Labels: map[string]string{"k": strings.Repeat("x", 2<<20)}})
	if !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("got %v, want INVALID_ARGUMENT", err)
	}
	if _, err := cl.Version(context.Background()); err != nil {
		t.Fatalf("the connection after: %v", err)
	}
}

// Events that arrived before the connection ended all reach C; then C
// closes and Err says why.
func TestEventsDrainedBeforeEnd(t *testing.T) {
	for round := 0; round < 20; round++ {
		path := peerEach(t, func(c *net.UnixConn) {
			q := readRequest(t, bufio.NewReader(c))
			if q == nil || q.GetEvents() == nil {
				return
			}
			for i := 0; i < 6; i++ {
				kind := "created"
				if i == 0 {
					kind = "subscribed"
				}
				resp := ok(q.GetId())
				resp.Result = &pb.Response_Event{Event: &pb.Event{Kind: proto.String(kind)}}
				writeResponse(c, resp)
			}
		})
		cl, err := Dial(path)
		if err != nil {
			t.Fatal(err)
		}
		sub, err := cl.Events(context.Background(), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		n := 0
		for range sub.C {
			n++
		}
		if n != 5 || !errors.Is(sub.Err(), ErrClosed) {
			t.Fatalf("round %d: %d events, Err %v; want 5 and ErrClosed", round, n, sub.Err())
		}
		cl.Close()
	}
}

// A closed file to pass is refused before anything is sent; the
// connection stays usable.
func TestClosedStdioFileRefused(t *testing.T) {
	path := peer(t, func(c *net.UnixConn) {
		if q := readRequest(t, bufio.NewReader(c)); q != nil {
			writeResponse(c, ok(q.GetId()))
		}
	})
	cl, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	f, _ := os.Open(os.DevNull)
	f.Close()
	if _, err := cl.Run(context.Background(), "a", []string{"true"}, &RunOptions{Stdio: &Stdio{f, f, f}}); err == nil {
		t.Fatal("a run with closed files was sent")
	}
	if _, err := cl.Version(context.Background()); err != nil {
		t.Fatalf("the connection after: %v", err)
	}
}

// An answer with id 0 and no status ends the connection with an error
// that prints.
func TestIdZeroWithoutStatus(t *testing.T) {
	path := peer(t, func(c *net.UnixConn) {
		c.Write([]byte{0})
		time.Sleep(100 * time.Millisecond)
	})
	cl, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	_, err = cl.Version(context.Background())
	if !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), "id 0") {
		t.Fatalf("got %v", err)
	}
}

// A run given up before its first answer is killed once it starts.
func TestAbandonedRunIsKilled(t *testing.T) {
	got := make(chan *pb.Request, 1)
	path := peer(t, func(c *net.UnixConn) {
		r, _, err := readWithFds(c)
		if err != nil {
			return
		}
		q := readRequest(t, r)
		if q == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
		started := ok(q.GetId())
		started.Result = &pb.Response_Run{Run: &pb.RunResult{Pid: proto.Int32(42)}}
		writeResponse(c, started)
		sig := readRequest(t, r)
		got <- sig
		if sig != nil {
			writeResponse(c, ok(sig.GetId()))
		}
	})
	cl, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	null, _ := os.Open(os.DevNull)
	defer null.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := cl.Run(ctx, "a", []string{"sleep", "100"}, &RunOptions{Stdio: &Stdio{null, null, null}}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("run past its deadline: %v", err)
	}
	select {
	case sig := <-got:
		if sig.GetSignal().GetSignal() != 9 || sig.GetSignal().GetRunId() == 0 {
			t.Fatalf("the peer got %v, want SIGKILL for the run", sig)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no SIGKILL for the abandoned run")
	}
}
