package dev.tandem.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** The soak's HTTP client: every call has a connect and a response deadline. */
final class Http {
    static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    /** A response, or the exception that stood in for one. */
    record Reply(int status, String body, Exception error) {
    }

    Reply post(String url, String body, Duration timeout) {
        try {
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(url)).timeout(timeout)
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body))
                    .build(), HttpResponse.BodyHandlers.ofString());
            return new Reply(r.statusCode(), r.body(), null);
        } catch (IOException e) {
            return new Reply(-1, null, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Reply(-1, null, e);
        }
    }

    /** The status of a GET, or -1 when there is no answer within 2 s. */
    int status(String url) {
        try {
            return client.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(2)).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    /** A GET's JSON body, or null when there is no 200 answer within 5 s. */
    JsonNode getJson(String url) {
        try {
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(url))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? JSON.readTree(r.body()) : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
