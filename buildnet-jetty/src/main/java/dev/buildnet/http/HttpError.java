package dev.buildnet.http;

import dev.buildnet.api.BuildNetException;

/** A refusal a handler throws; {@link Http#handled} writes it as {@code {error, code, hint}}. */
final class HttpError extends BuildNetException {
  private static final long serialVersionUID = 1L;

  final int status;
  final String code;
  final String hint;

  HttpError(int status, String code, String message, String hint) {
    super(message);
    this.status = status;
    this.code = code;
    this.hint = hint;
  }
}
