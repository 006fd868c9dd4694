"""``ndgrad-train --step-through FILE``: the step-through page of one training step."""
import os


def export_step_through(path, model, loss_fn, x, y, max_nodes=200):
    """Run one batch forward (in training mode) and write ``autograd.step_through``'s page
    of its backward pass to ``path`` (an .html file). Parameters keep no gradient: the
    page replays backward on the retained graph. Returns the path."""
    import autograd
    if os.path.splitext(path)[1].lower() not in (".html", ".htm"):
        from .train import UsageError
        raise UsageError(f"--step-through {path!r}: use an .html file name")
    was_training = model.training
    model.train()
    try:
        loss = loss_fn(model(x), y)
        params = dict(model.named_parameters())
        x.name = x.name or "images"
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        autograd.step_through(loss, path, params=params, group_by="module",
                              max_nodes=max_nodes)
    finally:
        model.train(was_training)
    return path
