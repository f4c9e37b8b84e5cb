// Package browser is the dashboard's end-to-end test in a real browser:
// headless Chromium, driven over the DevTools protocol by chromedp, loads
// GET / of one node of a 5-node local testnet and reads the rendered DOM.
// It is a module of its own so that chromedp never enters the node's
// dependencies.
package browser
