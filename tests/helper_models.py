"""Small models imported by name from study configs in the tests (source = "module")."""


def tiny_net():
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 6, 5, stride=4),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(4),
        torch.nn.Flatten(),
        torch.nn.Linear(96, 10),
    )


def tiny_net_b():
    """The same architecture as :func:`tiny_net` with other random weights."""
    import torch

    net = tiny_net()
    torch.manual_seed(1)
    for p in net.parameters():
        torch.nn.init.normal_(p, std=0.2)
    return net
