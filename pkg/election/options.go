package election

import pubsub "github.com/libp2p/go-libp2p-pubsub"

// Option adjusts New beyond its required dependencies.
type Option func(*options)

type options struct {
	wrapValidator func(pubsub.ValidatorEx) pubsub.ValidatorEx
}

// WrapValidator interposes on the election topic's validator, which New
// registers itself: the node's silence watch, for one, must see the
// leader's heartbeats, the busiest meshhealth message. wrap gets the wire
// validator and returns the one to register.
func WrapValidator(wrap func(pubsub.ValidatorEx) pubsub.ValidatorEx) Option {
	return func(o *options) { o.wrapValidator = wrap }
}
