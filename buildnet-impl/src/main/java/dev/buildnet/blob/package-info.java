/**
 * Blob stores a host wires in code, beyond the local disk: {@link
 * dev.buildnet.blob.HttpBlobStore} talks to a Bazel-style {@code /cas/} cache.
 */
package dev.buildnet.blob;
