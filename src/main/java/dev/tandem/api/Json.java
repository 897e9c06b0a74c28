package dev.tandem.api;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;

/** Typed reads of optional JSON fields; a wrong type is a 400 that names the field and the value. */
record Json(JsonNode node, String where) {

    private JsonNode get(String field) {
        JsonNode v = node.get(field);
        return v == null || v.isNull() ? null : v;
    }

    private String name(String field) {
        return where.isEmpty() ? field : where + "." + field;
    }

    int integer(String field, int dflt) {
        JsonNode v = get(field);
        if (v == null) {
            return dflt;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw ApiException.badField(name(field), v, "must be an integer");
        }
        return v.asInt();
    }

    Long optionalLong(String field) {
        JsonNode v = get(field);
        if (v == null) {
            return null;
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw ApiException.badField(name(field), v, "must be an integer");
        }
        return v.asLong();
    }

    float number(String field, float dflt) {
        JsonNode v = get(field);
        if (v == null) {
            return dflt;
        }
        if (!v.isNumber()) {
            throw ApiException.badField(name(field), v, "must be a number");
        }
        return (float) v.asDouble();
    }

    boolean bool(String field, boolean dflt) {
        JsonNode v = get(field);
        if (v == null) {
            return dflt;
        }
        if (!v.isBoolean()) {
            throw ApiException.badField(name(field), v, "must be true or false");
        }
        return v.asBoolean();
    }

    String string(String field, String dflt) {
        JsonNode v = get(field);
        if (v == null) {
            return dflt;
        }
        if (!v.isTextual()) {
            throw ApiException.badField(name(field), v, "must be a string");
        }
        return v.asText();
    }

    List<Integer> intList(String field) {
        JsonNode v = get(field);
        List<Integer> out = new ArrayList<>();
        if (v == null) {
            return out;
        }
        if (v.isIntegralNumber() && v.canConvertToInt()) {
            out.add(v.asInt());
            return out;
        }
        if (!v.isArray()) {
            throw ApiException.badField(name(field), v, "must be a list of integers");
        }
        for (JsonNode x : v) {
            if (!x.isIntegralNumber() || !x.canConvertToInt()) {
                throw ApiException.badField(name(field), v, "must be a list of integers");
            }
            out.add(x.asInt());
        }
        return out;
    }

    static int[] ids(JsonNode v, String name) {
        if (!v.isArray()) {
            throw ApiException.badField(name, v, "must be a list of token ids");
        }
        int[] ids = new int[v.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode x = v.get(i);
            if (!x.isIntegralNumber() || !x.canConvertToInt() || x.asInt() < 0) {
                throw ApiException.badField(name, x, "token ids must be non-negative integers");
            }
            ids[i] = x.asInt();
        }
        return ids;
    }
}
