package plugin

import (
	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
)

// Del detaches the container and releases its addresses. It succeeds when
// repeated and when the container's netns is already gone: deleting the host
// end of the veth removes both ends and the host routes, and the addresses
// are released by attachment key, never by pod name.
func (p *Plugin) Del(args *skel.CmdArgs) error {
	conf, err := loadConf(args.StdinData)
	if err != nil {
		return err
	}
	store, err := openStore(conf)
	if err != nil {
		return err
	}
	key := keyOf(args)
	// The interface goes first: a host route must never outlive its address.
	if err := deleteLink(hostVethNameForKey(key)); err != nil {
		return types.NewError(types.ErrInternal, "failed to delete host veth", err.Error())
	}
	if err := store.Release(key); err != nil {
		return ioError(err)
	}
	return nil
}
