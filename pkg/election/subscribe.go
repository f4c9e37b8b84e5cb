package election

// Subscribe calls fn with the new state whenever the leader, the term or
// this node's role changes. Calls come from one goroutine per subscriber,
// in order; a slow fn misses intermediate states, never the latest one, and
// never holds up the election. cancel stops the calls; Close cancels every
// subscription.
func (e *Election) Subscribe(fn func(State)) (cancel func()) {
	s := &subscriber{fn: fn, ch: make(chan State, 1), quit: make(chan struct{}), done: make(chan struct{})}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return func() {}
	}
	id := e.nextSub
	e.nextSub++
	e.subs[id] = s
	e.mu.Unlock()
	go s.loop()
	return func() {
		e.mu.Lock()
		if _, ok := e.subs[id]; ok {
			delete(e.subs, id)
			s.stop()
		}
		e.mu.Unlock()
		<-s.done
	}
}

type subscriber struct {
	fn   func(State)
	ch   chan State
	quit chan struct{}
	done chan struct{}
}

// offer replaces any undelivered state with st. Called with e.mu held.
func (s *subscriber) offer(st State) {
	select {
	case <-s.ch:
	default:
	}
	s.ch <- st
}

func (s *subscriber) stop() { close(s.quit) }

func (s *subscriber) loop() {
	defer close(s.done)
	for {
		select {
		case <-s.quit:
			return
		case st := <-s.ch:
			s.fn(st)
		}
	}
}
