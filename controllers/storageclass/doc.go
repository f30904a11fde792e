// Package storageclass interprets the parts of a StorageClass that every
// Plinth storage controller reads the same way: which topologies it allows
// and which of its parameters are meant for the driver.
package storageclass
