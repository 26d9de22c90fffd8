// A project reference does not import the package's buildTransitive props, which write this for package users.
[assembly: QemuTestKit.Containers.QemuContainers]
