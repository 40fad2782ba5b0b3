/// Grey's own version, which `--version` prints on every binary (etcd's Status reports the
/// etcd API version it answers, `EtcdMaintenanceService.version`). Raised with each release.
public enum GreyVersion {
    public static let current = "0.10.0"
}
