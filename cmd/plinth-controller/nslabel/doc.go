// Package nslabel is `plinth-controller label-namespace`, run by the Helm
// chart's pre-install and pre-upgrade hook: it sets labels, the Pod Security
// admission level above all, on the namespace Plinth is installed into.
// Helm's --create-namespace creates that namespace without labels, and a
// chart cannot own the namespace it is installed into, so a hook does it,
// with a role limited to that one namespace object.
package nslabel
