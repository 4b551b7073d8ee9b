package lmct

import (
	"context"

	"google.golang.org/protobuf/proto"

	pb "lmct.dev/go/lmct/lmctpb"
)

// EventsOptions are a subscription's optional parts.
type EventsOptions struct {
	Recursive   bool                  // also everything below NAME
	MemoryAbove uint64                // bytes, above 0: memory_above / memory_below events
	Pressure    []*pb.PressureTrigger // PSI triggers, at most 6
	Buffer      int                   // events held for a slow reader (default 64)
}

// Subscription is a stream of events on a connection of its own. C is
// closed when the stream ends: Close was called, its context is done, or
// lmctld went away; Err then says which.
type Subscription struct {
	C <-chan *pb.Event

	c    *conn
	cl   *Client
	end  chan struct{}
	err  error
	stop context.CancelFunc
}

// Events subscribes to events about NAME ("" is the root). It returns once
// lmctld accepted the subscription (a refusal is returned here); the
// "subscribed" event is not put on C. The stream lasts until CTX is done
// or Close.
func (cl *Client) Events(ctx context.Context, name string, opts *EventsOptions) (*Subscription, error) {
	q := &pb.EventsRequest{Name: proto.String(name)}
	buffer := 64
	if opts != nil {
		if opts.Recursive {
			q.Recursive = proto.Bool(true)
		}
		if opts.MemoryAbove > 0 {
			q.MemoryAbove = proto.Uint64(opts.MemoryAbove)
		}
		q.Pressure = opts.Pressure
		if opts.Buffer > 0 {
			buffer = opts.Buffer
		}
	}
	c, err := dial(cl.path, true)
	if err != nil {
		return nil, err
	}
	id, ch, err := c.register(buffer)
	if err == nil {
		err = c.send(ctx, id, &pb.Request{Verb: &pb.Request_Events{Events: q}}, nil)
	}
	if err == nil {
		var resp *pb.Response
		if resp, err = c.await(ctx, ch); err == nil && resp.GetEvent().GetKind() != "subscribed" {
			err = errUnexpected("events", resp)
		}
	}
	if err != nil {
		c.close()
		return nil, err
	}
	ctx, stop := context.WithCancel(ctx)
	out := make(chan *pb.Event)
	s := &Subscription{C: out, c: c, end: make(chan struct{}), stop: stop, cl: cl}
	cl.mu.Lock()
	cl.subs[s] = struct{}{}
	cl.mu.Unlock()
	go s.forward(ctx, ch, out)
	return s, nil
}

func (s *Subscription) forward(ctx context.Context, in chan *pb.Response, out chan *pb.Event) {
	s.err = s.pump(ctx, in, out)
	s.c.close()
	s.cl.mu.Lock()
	delete(s.cl.subs, s)
	s.cl.mu.Unlock()
	close(s.end) // Err answers before C reads as closed
	close(out)
}

// pump moves events from IN to OUT until the stream ends, and says why.
// Events that came before the connection ended are delivered first.
func (s *Subscription) pump(ctx context.Context, in chan *pb.Response, out chan *pb.Event) error {
	for {
		var resp *pb.Response
		select {
		case resp = <-in:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.c.done:
			select {
			case resp = <-in:
			default:
				return s.c.reason()
			}
		}
		if err := statusError(resp.GetStatus()); err != nil {
			return err
		}
		select {
		case out <- resp.GetEvent():
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close ends the subscription and its connection.
func (s *Subscription) Close() error {
	s.stop()
	<-s.end
	return nil
}

// Err says why C was closed (nil while it is open): context.Canceled
// after Close, ctx.Err() when the context ended it, or an error wrapping
// ErrClosed when the connection ended.
func (s *Subscription) Err() error {
	select {
	case <-s.end:
		return s.err
	default:
		return nil
	}
}
