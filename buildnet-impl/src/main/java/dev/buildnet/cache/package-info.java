/**
 * The content-addressed cache: {@link dev.buildnet.cache.CacheKeyBuilder} computes a target's key
 * and the {@link dev.buildnet.cache.KeyManifest} that explains it;
 * {@link dev.buildnet.cache.DiskBlobStore} holds file contents by digest, verified on every read;
 * {@link dev.buildnet.cache.TieredBlobStore} puts it in front of a shared
 * {@link dev.buildnet.api.blob.BlobStore} such as {@link dev.buildnet.cache.HttpBlobStore};
 * {@link dev.buildnet.cache.ActionCache} maps a key to the {@link dev.buildnet.cache.ActionManifest}
 * of a successful run; {@link dev.buildnet.cache.Outputs} moves outputs between the workspace and
 * the store, restoring all-or-nothing.
 *
 * @since 0.1
 */
package dev.buildnet.cache;
