/**
 * The {@link dev.buildnet.api.blob.BlobStore} provider interface: content-addressed blob storage,
 * verified on every read, with its exceptions.
 */
package dev.buildnet.api.blob;
