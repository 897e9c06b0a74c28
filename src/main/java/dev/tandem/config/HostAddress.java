package dev.tandem.config;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Set;

/**
 * The address a process binds versus the one it tells others. {@code --host 0.0.0.0} binds every interface, but
 * "0.0.0.0" names no machine: ids, bootstrap addresses, transfer endpoints and announced URLs must carry a routable
 * address instead, given with {@code --advertise-host} or detected here.
 */
public final class HostAddress {
    private static final Set<String> WILDCARDS = Set.of("0.0.0.0", "::", "[::]", "*", "0:0:0:0:0:0:0:0");

    private HostAddress() {
    }

    /** True for an address that means "every interface". */
    public static boolean wildcard(String host) {
        return host != null && WILDCARDS.contains(host);
    }

    /**
     * What to advertise for a process bound to {@code host}: {@code advertiseHost} when given (it must name one
     * machine), {@code host} itself when it is not a wildcard, else a detected address (see {@link #detect()}).
     *
     * @param field the config field named in errors ("advertise_host")
     */
    public static String advertised(String host, String advertiseHost, String field) {
        if (advertiseHost != null) {
            if (advertiseHost.isBlank() || wildcard(advertiseHost)) {
                throw new ConfigException(field, advertiseHost, "one routable address or host name, not a wildcard");
            }
            return advertiseHost;
        }
        if (!wildcard(host)) {
            return host;
        }
        String detected = detect();
        if (detected == null) {
            throw new ConfigException("host " + host + " binds every interface, and no routable address was found "
                    + "to advertise: give one with --advertise-host (" + field + ")");
        }
        return detected;
    }

    /**
     * The first IPv4 address of an interface that is up, not loopback and not point-to-point, interfaces taken in
     * index order (the primary NIC usually comes first); null when there is none.
     */
    public static String detect() {
        try {
            List<NetworkInterface> nics = new ArrayList<>(Collections.list(NetworkInterface.getNetworkInterfaces()));
            nics.sort(Comparator.comparingInt(NetworkInterface::getIndex));
            for (NetworkInterface nic : nics) {
                if (!nic.isUp() || nic.isLoopback() || nic.isPointToPoint()) {
                    continue;
                }
                for (InetAddress a : Collections.list(nic.getInetAddresses())) {
                    if (a instanceof Inet4Address && !a.isLoopbackAddress() && !a.isLinkLocalAddress()) {
                        return a.getHostAddress();
                    }
                }
            }
            return null;
        } catch (SocketException e) {
            return null;
        }
    }
}
