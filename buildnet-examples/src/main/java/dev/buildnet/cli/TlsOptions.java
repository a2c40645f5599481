package dev.buildnet.cli;

import dev.buildnet.api.transport.TransportSettings;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import picocli.CommandLine.Option;

/**
 * TLS for the commands that listen or connect: a PKCS#12 store and a file holding its password
 * (never a password on the command line). A master's store holds its key and certificate; a
 * worker's or client's holds the certificates it trusts (the master's own store works too).
 */
final class TlsOptions {
  @Option(names = "--tls-store",
      description = "PKCS#12 store: the master's key and certificate (serve), or the certificates "
          + "to trust (worker, submit). Turns TLS on.")
  Path store;

  @Option(names = "--tls-password-file",
      description = "File holding the store's password (required with --tls-store).")
  Path passwordFile;

  /** Transport settings with {@code secret} and, if TLS was asked for, its context. */
  TransportSettings.Builder transport(byte[] secret, boolean withKey)
      throws IOException, GeneralSecurityException {
    TransportSettings.Builder b = TransportSettings.builder().secret(secret);
    SSLContext context = context(withKey);
    if (context != null) {
      b.tls(context);
    }
    return b;
  }

  /** The context, or null when TLS was not asked for. */
  SSLContext context(boolean withKey) throws IOException, GeneralSecurityException {
    if (store == null) {
      if (passwordFile != null) {
        throw new IllegalArgumentException("--tls-password-file needs --tls-store");
      }
      return null;
    }
    if (passwordFile == null) {
      throw new IllegalArgumentException("--tls-store needs --tls-password-file");
    }
    if (!Files.isRegularFile(store)) {
      throw new IllegalArgumentException("TLS store " + store + " does not exist");
    }
    char[] password = new String(ServeCommand.readPasswordFile(passwordFile),
        java.nio.charset.StandardCharsets.UTF_8).toCharArray();
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(store)) {
      ks.load(in, password);
    }
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    KeyManagerFactory kmf = null;
    if (withKey) {
      kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, password);
    }
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    return context;
  }
}
