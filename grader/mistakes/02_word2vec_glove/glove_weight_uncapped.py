# Mistake: f(x) = (x / x_max)^alpha without the cap at 1, so very frequent pairs dominate the loss
# Replaces: glove_weight
# Loses: test_glove_weight, test_glove_loss
def glove_weight(x, x_max=100.0, alpha=0.75):
    return (x / x_max) ** alpha
