package main

import (
	"context"
	"errors"
)

// These commands belong to issues still open; they say so instead of
// pretending to work.
var errNotYet = errors.New("not available in this build yet")

func runServe(context.Context, *env, []string) error { return errNotYet }
func runUser(context.Context, *env, []string) error  { return errNotYet }
