# Owned by the template: `copier update` keeps this file current; don't edit it.
